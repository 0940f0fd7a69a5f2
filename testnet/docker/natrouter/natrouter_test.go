package main

import (
	"net/netip"
	"testing"
)

// TestGatewayIsAConeNAT builds pub ← wan [router] lan → host in network
// namespaces, sets the router and the host up as the testnet's containers
// are, and checks the router behaves as a home router: the host's packets
// leave from the router's address with their port kept, replies come
// back, a packet from another port of the same peer does not, and nobody
// reaches the router itself unasked.
func TestGatewayIsAConeNAT(t *testing.T) {
	r := newRig(t)
	lan := netip.MustParsePrefix(rigLAN + ".0/24")
	r.in(r.router, func() error {
		wan, err := wanInterface(lan)
		if err != nil {
			return err
		}
		if wan != "wan" {
			t.Errorf("WAN interface %q, want wan", wan)
		}
		return masquerade(wan)
	})
	r.in(r.host, func() error { return routeVia(netip.MustParseAddr(rigLAN + ".1")) })

	host := r.listen(r.host, rigLAN+".10:4114")
	peer := r.listen(r.pub, rigPub+".1:5000")
	other := r.listen(r.pub, rigPub+".1:5001")
	routerWAN := netip.MustParseAddrPort(rigPub + ".2:4114")

	send(t, host, peer.addr, "hello")
	if from, msg := recv(t, peer); from != routerWAN || msg != "hello" {
		t.Fatalf("peer got %q from %s, want hello from the router's %s (masqueraded, port kept)", msg, from, routerWAN)
	}
	// Filtering: the mapping is open to the peer's address and port only.
	// The refused packet goes first, so the host's first read tells.
	send(t, other, routerWAN, "unsolicited")
	send(t, peer, routerWAN, "reply")
	if from, msg := recv(t, host); msg != "reply" || from != peer.addr {
		t.Fatalf("host got %q from %s first, want the reply from %s: the router let in another port's packet", msg, from, peer.addr)
	}

	// The router's own address: nothing comes in that it did not ask for.
	router := r.listen(r.router, rigPub+".2:7000")
	send(t, other, router.addr, "unsolicited")
	send(t, router, other.addr, "hi")
	if _, msg := recv(t, other); msg != "hi" {
		t.Fatalf("peer got %q, want hi", msg)
	}
	send(t, other, router.addr, "answer")
	if from, msg := recv(t, router); msg != "answer" {
		t.Fatalf("router got %q from %s first, want the answer: an unsolicited packet reached it", msg, from)
	}
}

// TestWANInterfaceErrors: a container on the wrong networks gets an error
// that says which network to attach.
func TestWANInterfaceErrors(t *testing.T) {
	r := newRig(t)
	r.in(r.pub, func() error {
		_, err := wanInterface(netip.MustParsePrefix(rigLAN + ".0/24"))
		if err == nil {
			t.Error("no error without a LAN address")
		}
		return nil
	})
	r.in(r.host, func() error {
		_, err := wanInterface(netip.MustParsePrefix(rigLAN + ".0/24"))
		if err == nil {
			t.Error("no error without a WAN address")
		}
		return nil
	})
}
