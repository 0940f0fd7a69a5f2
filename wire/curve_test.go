package wire

import (
	"testing"

	"github.com/pion/dtls/v2/pkg/crypto/elliptic"
	"github.com/pion/dtls/v2/pkg/protocol/extension"
	"github.com/pion/dtls/v2/pkg/protocol/handshake"
)

// TestHelloOffersP256First checks a real ClientHello: the server takes the
// client's first group, so the order decides the key exchange's cost.
func TestHelloOffersP256First(t *testing.T) {
	b := capturedHello(t)
	body := b[recordHeaderLen:]
	var hello handshake.MessageClientHello
	if err := hello.Unmarshal(body[handshakeHeaderLen : handshakeHeaderLen+uint24(body[1:4])]); err != nil {
		t.Fatalf("captured hello does not parse: %v", err)
	}
	for _, e := range hello.Extensions {
		if g, ok := e.(*extension.SupportedEllipticCurves); ok {
			want := []elliptic.Curve{elliptic.P256, elliptic.X25519}
			if len(g.EllipticCurves) != len(want) || g.EllipticCurves[0] != want[0] || g.EllipticCurves[1] != want[1] {
				t.Fatalf("hello offers groups %v, want %v", g.EllipticCurves, want)
			}
			return
		}
	}
	t.Fatal("hello has no supported_groups extension")
}

// TestServerAcceptsAnX25519OnlyClient: a peer that offers only X25519 (as
// nodes did before P-256 was preferred) still completes a handshake.
func TestServerAcceptsAnX25519OnlyClient(t *testing.T) {
	cfgC, cfgS := pionConfigs(t)
	cfgC.EllipticCurves = []elliptic.Curve{elliptic.X25519}
	c, s := pionPair(t, cfgC, cfgS)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("write over the X25519 session: %v", err)
	}
	buf := make([]byte, 16)
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "x" {
		t.Fatalf("read over the X25519 session: %q, %v", buf[:n], err)
	}
	c.Close()
	s.Close()
}
