package wire

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

// The two datagrams of a final flight (splitAtEpoch: the ChangeCipherSpec
// and the Finished sent apart) swap on the path, so the Finished comes
// first. It must wait for the ChangeCipherSpec, not be dropped: dropped,
// it came again only with pion's retransmission a second later, which on
// a path that reorders made lookups time out. Each side's final flight,
// in a full and in a resumed handshake.
func TestFinishedOvertakingChangeCipherSpecWaits(t *testing.T) {
	for _, tc := range []struct {
		name           string
		resume, server bool // server: the server's flight is the one swapped
	}{
		{"full, client's flight", false, false},
		{"full, server's flight", false, true},
		{"resumed, client's flight", true, false},
		{"resumed, server's flight", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := newTestNode(t, nil), newTestNode(t, nil)
			if tc.resume {
				a.ping(t, b, nil)
				closeBoth(t, a, b)
			}
			sender, receiver := a, b
			if tc.server {
				sender, receiver = b, a
			}
			var swapped atomic.Bool
			swap := func(to netip.AddrPort, d []byte) bool {
				if to != receiver.LocalAddr() || !hasChangeCipherSpec(d) {
					return false
				}
				now, later := splitAtEpoch(d)
				if len(later) == 0 || !swapped.CompareAndSwap(false, true) {
					return false
				}
				for _, dg := range [][]byte{later, now} {
					if _, err := sender.sock.WriteToUDPAddrPort(dg, to); err != nil {
						t.Errorf("sending the swapped flight: %v", err)
					}
				}
				return true
			}
			sender.loss.Store(&swap)
			a.ping(t, b, nil)
			if !swapped.Load() {
				t.Fatal("no final flight was swapped, so nothing was tested")
			}
			// Dropped, it would be counted as an unexpected record; but a late
			// close_notify of the session closeBoth ended is counted so too,
			// so the test reads the held count instead.
			if st := receiver.Stats(); st.HeldBeforeCCS != 1 {
				t.Fatalf("the receiver held %d records for the ChangeCipherSpec, want the one Finished that overtook it (dropped: %v)", st.HeldBeforeCCS, st.Dropped)
			}
			if tc.resume && (a.Stats().Resumed != 1 || b.Stats().Resumed != 1) {
				t.Fatalf("resumed %d and %d times, want 1 each", a.Stats().Resumed, b.Stats().Resumed)
			}
		})
	}
}
