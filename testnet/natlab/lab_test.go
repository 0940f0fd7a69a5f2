package natlab

import (
	"strings"
	"testing"
	"time"
)

// TestLabMasquerade checks the rig itself: a node behind the cone router
// reaches a public seed, and the seed sees it at the router's address.
func TestLabMasquerade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kadnode processes in network namespaces")
	}
	bin := Binary(t, modRoot)
	lab := New(t)
	s := lab.Public("s").Start(bin)
	r := lab.Router("r", Cone)
	b := r.AddHost("b").Start(bin, "--seed", s.Seed())
	WaitFor(t, 30*time.Second, "the seed lists b at the router's address", func() bool {
		es, _ := s.Table()
		for _, e := range es {
			if e.ID == b.ID {
				return strings.HasPrefix(e.Addr, r.IP.String()+":")
			}
		}
		return false
	}, s, b)
}
