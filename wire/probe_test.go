package wire

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
)

// A handshake only probes wanted times out as probe_timeout, one a plain
// call wanted as timeout, also when the plain call joined a probe's
// handshake (and then dialled once more itself, as a call whose joined
// handshake failed does: a second timeout).
func TestProbeTimeoutsAreCountedApart(t *testing.T) {
	a := newTestNode(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond })
	silent := func() *net.UDPConn { return rawSocket(t) } // never answers
	call := func(ctx context.Context, to *net.UDPConn) error {
		_, _, err := a.Call(ctx, netipAddrOf(to.LocalAddr()), nil, kad.PingQuery(a.LocalID(), false))
		return err
	}
	var hte *kad.HandshakeTimeoutError
	if err := call(kad.Probe(context.Background()), silent()); !errors.As(err, &hte) {
		t.Fatalf("probe to a silent address: %v, want a handshake timeout", err)
	}
	if st := a.Stats(); st.Handshakes["probe_timeout"] != 1 || st.Handshakes["timeout"] != 0 {
		t.Fatalf("after a probe: probe_timeout %d, timeout %d; want 1 and 0", st.Handshakes["probe_timeout"], st.Handshakes["timeout"])
	}

	shared := silent()
	probe := make(chan error, 1)
	go func() { probe <- call(kad.Probe(context.Background()), shared) }()
	waitFor(t, "the probe's ClientHello to leave", func() bool { return a.helloSent(netipAddrOf(shared.LocalAddr())) }, a)
	if err := call(context.Background(), shared); !errors.As(err, &hte) {
		t.Fatalf("plain call joining the probe's handshake: %v, want a handshake timeout", err)
	}
	<-probe
	if st := a.Stats(); st.Handshakes["probe_timeout"] != 1 || st.Handshakes["timeout"] != 2 {
		t.Fatalf("after a plain call joined a probe: probe_timeout %d, timeout %d; want 1 and 2", st.Handshakes["probe_timeout"], st.Handshakes["timeout"])
	}
}
