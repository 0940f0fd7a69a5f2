package natlab

import (
	"strings"
	"testing"
	"time"
)

// TestLabMasquerade checks the rig itself: a node behind the cone router
// reaches a public seed, through a mapping that the router's conntrack
// table shows translated to the router's own address and the same port.
func TestLabMasquerade(t *testing.T) {
	bin, lab := labFor(t)
	s := lab.Public("s").Start(bin)
	r := lab.Router("r", Cone)
	b := r.AddHost("b").Start(bin, "--seed", s.Seed())
	WaitFor(t, 30*time.Second, "b holds the seed", func() bool {
		ok, _ := b.Holds(s.ID)
		return ok
	}, s, b)
	out, err := r.Exec("cat", "/proc/net/nf_conntrack")
	if err != nil {
		t.Fatal(err)
	}
	// orig: src=B dst=S sport=6881 dport=6881, reply: src=S dst=router.
	want := "src=" + b.Host.IP.String() + " dst=" + s.Host.IP.String() + " sport=6881 dport=6881 "
	reply := "src=" + s.Host.IP.String() + " dst=" + r.IP.String() + " sport=6881 dport=6881 "
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, want) && strings.Contains(line, reply) {
			return
		}
	}
	t.Fatalf("no MASQUERADE mapping of b:6881 to %s:6881 towards s in the router's conntrack table:\n%s", r.IP, out)
}
