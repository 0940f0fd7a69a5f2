package node

import (
	"net/netip"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// vote feeds e one responder's report of our address.
func voteFor(e *externalAddr, from byte, addr string) {
	ap := netip.MustParseAddrPort(addr)
	var id krpc.ID
	id[0] = from
	e.vote(id, krpc.NodeAddr{IP: ap.Addr().AsSlice(), Port: int(ap.Port())})
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name   string
		listen string
		votes  []string
		failed int
		nonce  bool
		mapped string
		local  string
		want   Reachability
		client bool
	}{
		{name: "no votes", want: ReachUnknown},
		{name: "one view, no check yet", votes: []string{"203.0.113.1:6881"}, want: ReachUnknown},
		{name: "cone: one port, check failed", votes: []string{"203.0.113.1:6881", "203.0.113.1:6881"}, failed: 1, want: ReachNAT},
		{name: "cone needs two views", votes: []string{"203.0.113.1:6881"}, failed: 1, want: ReachUnknown},
		{name: "symmetric: a port per peer", votes: []string{"203.0.113.1:40001", "203.0.113.1:40002"}, want: ReachSymmetric, client: true},
		{name: "dial-back arrived", votes: []string{"203.0.113.1:40001", "203.0.113.1:40002"}, nonce: true, want: ReachPublic},
		{name: "own address", votes: []string{"192.0.2.9:6881"}, local: "192.0.2.9", want: ReachPublic},
		{name: "bound address", votes: []string{"192.0.2.9:6881"}, listen: "192.0.2.9:6881", want: ReachPublic},
		{name: "bound address, other port", votes: []string{"192.0.2.9:7000"}, listen: "192.0.2.9:6881", want: ReachUnknown},
		{name: "own IP, other port: a NAT on the host", votes: []string{"192.0.2.9:7000", "192.0.2.9:7000"}, local: "192.0.2.9", failed: 1, want: ReachNAT},
		{name: "mapped", votes: []string{"203.0.113.1:40001", "203.0.113.1:40002"}, mapped: "203.0.113.1:6881", want: ReachPublic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := NATConfig{Enabled: true}
			if c.mapped != "" {
				cfg.Mapped = netip.MustParseAddrPort(c.mapped)
			}
			s := newNATState(cfg, nil)
			s.local = map[netip.Addr]bool{}
			if c.local != "" {
				s.local[netip.MustParseAddr(c.local)] = true
			}
			var e externalAddr
			for i, v := range c.votes {
				voteFor(&e, byte(i+1), v)
			}
			s.failed, s.verified = c.failed, c.nonce
			listen := netip.MustParseAddrPort("0.0.0.0:6881")
			if c.listen != "" {
				listen = netip.MustParseAddrPort(c.listen)
			}
			got, why, _ := s.classify(&e, listen)
			if got != c.want || why == "" {
				t.Fatalf("classified %q (%s), want %q", got, why, c.want)
			}
			if st := s.stats(); st.ClientMode != c.client || (st.ClientMode && st.ClientModeReason == "") {
				t.Fatalf("client mode %v (%q), want %v", st.ClientMode, st.ClientModeReason, c.client)
			}
		})
	}
}

// The first agreement on our external address keeps what the checks
// found; a move to another address forgets it.
func TestFirstExternalAddressKeepsTheVerdict(t *testing.T) {
	s := newNATState(NATConfig{Enabled: true}, nil)
	s.failed, s.verified = 1, true
	s.externalChanged(netip.AddrPort{})
	if s.failed != 1 || !s.verified {
		t.Fatalf("the first agreed address reset the checks (failed %d, verified %v)", s.failed, s.verified)
	}
	s.externalChanged(netip.MustParseAddrPort("203.0.113.1:6881"))
	if s.failed != 0 || s.verified {
		t.Fatalf("a new address kept the old checks (failed %d, verified %v)", s.failed, s.verified)
	}
}

// TestPunchFailuresMeanClientMode: behind a cone NAT, punches that all
// fail turn client mode on, with the reason.
func TestPunchFailuresMeanClientMode(t *testing.T) {
	s := newNATState(NATConfig{Enabled: true}, nil)
	s.local = map[netip.Addr]bool{}
	var e externalAddr
	voteFor(&e, 1, "203.0.113.1:6881")
	voteFor(&e, 2, "203.0.113.1:6881")
	s.failed = 1
	for i := range NATPunchFailures {
		s.classify(&e, netip.MustParseAddrPort("0.0.0.0:6881"))
		if s.stats().ClientMode {
			t.Fatalf("client mode after %d failed punches", i)
		}
		s.punchFailed++
	}
	s.classify(&e, netip.MustParseAddrPort("0.0.0.0:6881"))
	if st := s.stats(); !st.ClientMode || st.ClientModeReason == "" {
		t.Fatalf("no client mode after %d failed punches: %+v", NATPunchFailures, st)
	}
}

// TestDialBackRule: a nonce proves reachability only when it is ours,
// fresh, and comes from an address we never sent to (its packets could
// pass our NAT's filter otherwise).
func TestDialBackRule(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newNATState(NATConfig{Enabled: true}, nil)
	nonce := krpc.RandomNodeID()
	s.nonces[nonce] = now.Add(time.Minute)
	contacted := netip.MustParseAddrPort("198.51.100.1:6881")
	stranger := netip.MustParseAddrPort("198.51.100.2:6881")
	s.sentTo(contacted, now)
	if s.nonceFrom(krpc.RandomNodeID(), stranger, now) {
		t.Fatal("a nonce we never issued counted")
	}
	if s.nonceFrom(nonce, contacted, now) {
		t.Fatal("a dial-back from an address we sent to counted")
	}
	if s.nonceFrom(nonce, stranger, now.Add(2*time.Minute)) {
		t.Fatal("an expired nonce counted")
	}
	if !s.nonceFrom(nonce, stranger, now) || !s.verified {
		t.Fatal("a fresh nonce from a stranger did not count")
	}
	if s.nonceFrom(nonce, stranger, now) {
		t.Fatal("a nonce counted twice")
	}
}

// TestRelayRateLimit: a peer gets NATRelayBurst relays at once, then is
// refused, while another peer still gets its own.
func TestRelayRateLimit(t *testing.T) {
	s := newNATState(NATConfig{Enabled: true}, nil)
	a, b := krpc.RandomNodeID(), krpc.RandomNodeID()
	for i := range NATRelayBurst {
		if !s.allow(a) {
			t.Fatalf("relay %d refused within the burst", i)
		}
	}
	if s.allow(a) {
		t.Fatal("relay beyond the burst allowed")
	}
	if !s.allow(b) {
		t.Fatal("another peer was refused")
	}
}
