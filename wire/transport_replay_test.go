package wire

import (
	"crypto/ed25519"
	"net"
	"sync"
	"testing"

	"github.com/kadnode/kadnode/kad"
	"github.com/pion/dtls/v2"
)

// recordingConn keeps a copy of the last datagram written through it.
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	last []byte
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.last = append(c.last[:0], b...)
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *recordingConn) lastWritten() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.last...)
}

// A query record replayed in its own session is dropped by pion's replay
// window, never served twice, and counted as replayed.
func TestReplayedRecordsCounted(t *testing.T) {
	a := newTestNode(t, nil)
	udp, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(a.LocalAddr()))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingConn{Conn: udp}
	cfg, _ := pionConfigs(t)
	cfg.SupportedProtocols = []string{alpnPrefix + "test"}
	c, err := dtls.Client(CookieConn(rec), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := peerIDFromCerts(cfg.Certificates[0].Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if err := ProveIdentity(c, &Identity{Key: cfg.Certificates[0].PrivateKey.(ed25519.PrivateKey)}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, sessionReadBufferSize)
	query := func(tx string) {
		t.Helper()
		q := kad.PingQuery(id, false)
		q.T = tx
		if _, err := c.Write(mustEncode(t, q)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := kad.DecodeMsg(buf[:n]); err != nil || r.T != tx {
			t.Fatalf("reply %q (%v), want the answer to %q", buf[:n], err, tx)
		}
	}
	query("q1")
	record := rec.lastWritten()
	const replays = 5
	for range replays {
		if _, err := udp.Write(record); err != nil {
			t.Fatal(err)
		}
	}
	// The session handles records in order, so once q2 is answered the
	// replays have been through pion.
	query("q2")
	if got := a.Stats().Dropped["replayed"]; got != replays {
		t.Errorf("%d replays counted as replayed %d times", replays, got)
	}
	if got := a.served.Load(); got != 2 {
		t.Errorf("the handler ran %d times for 2 queries and %d replays", got, replays)
	}
}
