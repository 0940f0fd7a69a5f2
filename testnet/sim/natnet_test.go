package sim

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestConeNATFiltersUnsolicited: a cone-NAT'd node is seen at its NAT's
// external address, one port for every destination; only a node it sent
// to gets through, and only while the mapping lives.
func TestConeNATFiltersUnsolicited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, a, c, b := natTrio(t, Cone)
		ra, rc := serveRecorder(a), serveRecorder(c)
		ext := b.ExternalAddr()
		if ext == b.LocalAddr() || !ext.IsValid() {
			t.Fatalf("external %s, local %s: want a separate external address", ext, b.LocalAddr())
		}

		if _, _, err := c.Call(context.Background(), ext, nil, pingFrom(c)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("unsolicited call through the cone NAT: %v, want a timeout", err)
		}
		if s := n.Stats(); s.Filtered != 1 {
			t.Errorf("filtered %d, want 1", s.Filtered)
		}
		for _, peer := range []*Endpoint{a, c} {
			if _, _, err := b.Call(context.Background(), peer.LocalAddr(), nil, pingFrom(b)); err != nil {
				t.Fatalf("outbound from the NAT'd node: %v", err)
			}
		}
		if pa, pc := ra.last.Load().Addr, rc.last.Load().Addr; pa != ext || pc != ext {
			t.Errorf("peers saw %s and %s, want the one mapped address %s", pa, pc, ext)
		}
		if !a.HasSession(ext) {
			t.Error("a just exchanged with the NAT'd node but holds no session")
		}
		if _, _, err := a.Call(context.Background(), ext, nil, pingFrom(a)); err != nil {
			t.Errorf("call back through the open mapping: %v", err)
		}
		time.Sleep(sessionIdle)
		if a.HasSession(ext) {
			t.Error("session still usable after the idle timeout")
		}
		time.Sleep(conntrackReplied)
		if _, _, err := a.Call(context.Background(), ext, nil, pingFrom(a)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("call after the mapping expired: %v, want a timeout", err)
		}
	})
}

// TestSymmetricNATMapsPerDestination: each destination sees its own
// port, and a port mapped for one peer lets no other peer in.
func TestSymmetricNATMapsPerDestination(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, c, b := natTrio(t, Symmetric)
		ra, rc := serveRecorder(a), serveRecorder(c)
		for _, peer := range []*Endpoint{a, c} {
			if _, _, err := b.Call(context.Background(), peer.LocalAddr(), nil, pingFrom(b)); err != nil {
				t.Fatal(err)
			}
		}
		pa, pc := ra.last.Load().Addr, rc.last.Load().Addr
		if pa.Addr() != pc.Addr() || pa.Port() == pc.Port() {
			t.Fatalf("peers saw %s and %s: want one IP, two ports", pa, pc)
		}
		if _, _, err := c.Call(context.Background(), pa, nil, pingFrom(c)); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("c through the port mapped for a: %v, want a timeout", err)
		}
		if _, _, err := c.Call(context.Background(), pc, nil, pingFrom(c)); err != nil {
			t.Errorf("c through its own mapping: %v", err)
		}
	})
}

// TestCrossingCallsPunchThrough: a call held by a cone NAT's filter gets
// through once the NAT'd node sends towards the caller, as in a punch.
func TestCrossingCallsPunchThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := newTestNetwork(t, Config{Timeout: time.Second})
		a := newTestNATEndpoint(t, n, 0xaa, Cone)
		b := newTestNATEndpoint(t, n, 0xbb, Cone)
		serveRecorder(a)
		serveRecorder(b)
		done := make(chan error, 1)
		go func() {
			_, _, err := a.Call(context.Background(), b.ExternalAddr(), nil, pingFrom(a))
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		if _, _, err := b.Call(context.Background(), a.ExternalAddr(), nil, pingFrom(b)); err != nil {
			t.Errorf("b's punch towards a: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("a's call, crossing b's punch: %v", err)
		}
	})
}
