package natlab

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// classifyWait bounds how long a node may take to classify itself: a
// join, a reachability check (NATCheckWait) and a keepalive round, with
// room for a loaded machine.
const classifyWait = 60 * time.Second

// long reports whether the long cases run (make nat-test).
func long() bool { return os.Getenv("KADNODE_NAT_LONG") != "" }

// parallelWhenLong runs the NAT tests two at a time under make nat-test,
// where two minutes of TestMappingsStayOpen are mostly waiting: each test
// has a lab of its own. Under make test they run one after another.
func parallelWhenLong(t *testing.T) {
	if long() {
		t.Parallel()
	}
}

// labFor skips in -short mode and returns the binary and a fresh lab.
func labFor(t *testing.T) (string, *Lab) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs kadnode processes in network namespaces")
	}
	return Binary(t, modRoot), New(t)
}

// waitReach waits until n reports reachability want.
func waitReach(t *testing.T, n *Node, want string) Self {
	t.Helper()
	var s Self
	WaitFor(t, classifyWait, n.Host.Name+" reports "+want, func() bool {
		var err error
		s, err = n.Self()
		return err == nil && s.Reachability == want
	}, n)
	return s
}

// metric reads one sample of the node's /metrics, 0 when absent.
func metric(t testing.TB, n *Node, name string) float64 {
	t.Helper()
	out, err := n.Host.Exec("curl", "-sf", "http://"+apiAddr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(out)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reach looks up target from n, then pings it at the address found: the
// lookup must find it without a single timeout.
func reach(t *testing.T, from, target *Node) {
	t.Helper()
	res, err := from.Lookup(target.ID)
	if err != nil {
		t.Fatalf("lookup of %s from %s: %v\n%s", target.Host.Name, from.Host.Name, err, tail(from.Logs(), 40))
	}
	if !res.Found {
		t.Fatalf("lookup from %s did not find %s (%+v)\n--- %s ---\n%s\n--- %s ---\n%s", from.Host.Name, target.Host.Name, res.Stats,
			from.Host.Name, tail(from.Logs(), 40), target.Host.Name, tail(target.Logs(), 40))
	}
	if res.Stats.Timeouts != 0 {
		t.Errorf("lookup from %s spent %d timeouts (every other node is public, so they were spent on %s)", from.Host.Name, res.Stats.Timeouts, target.Host.Name)
	}
	if err := from.Ping(target.ID + "@" + res.Addr); err != nil {
		t.Fatalf("ping after the lookup: %v", err)
	}
}

// TestConeNAT: B behind MASQUERADE is found by C's lookup, with no timeout
// spent on it, pinged, and ends in C's table. C joins after B settled, so
// C is none of B's rendezvous contacts and must punch through one. Fresh
// networks: 3 under make test, 20 under make nat-test.
func TestConeNAT(t *testing.T) {
	parallelWhenLong(t)
	runs := 3
	if long() {
		runs = 20
	}
	for i := range runs {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			bin, lab := labFor(t)
			s := lab.Public("s").Start(bin)
			p := lab.Public("p").Start(bin, "--seed", s.Seed())
			b := lab.Router("r", Cone).AddHost("b").Start(bin, "--seed", s.Seed())
			waitReach(t, b, "nat")
			WaitFor(t, classifyWait, "b registered with a rendezvous", func() bool {
				return metric(t, b, "kadnode_nat_rendezvous") > 0
			}, b)
			c := lab.Public("c").Start(bin, "--seed", s.Seed(), "--seed", p.Seed())
			waitReach(t, c, "public")
			reach(t, c, b)
			if ok, err := c.Holds(b.ID); err != nil || !ok {
				t.Errorf("c's table does not hold b after reaching it (err %v)", err)
			}
			if got := metric(t, b, `kadnode_nat_punches_total{outcome="ok"}`); got < 1 {
				t.Errorf("b made %v successful punches; c should have reached it through one", got)
			}
		})
	}
}

// TestNATToNAT: B and D sit behind two different MASQUERADE routers, and D
// reaches B.
func TestNATToNAT(t *testing.T) {
	parallelWhenLong(t)
	bin, lab := labFor(t)
	s := lab.Public("s").Start(bin)
	lab.Public("p").Start(bin, "--seed", s.Seed())
	b := lab.Router("r1", Cone).AddHost("b").Start(bin, "--seed", s.Seed())
	d := lab.Router("r2", Cone).AddHost("d").Start(bin, "--seed", s.Seed())
	waitReach(t, b, "nat")
	waitReach(t, d, "nat")
	reach(t, d, b)
}

// TestSymmetricNAT: B behind MASQUERADE --random-fully is in no table,
// costs C's lookups nothing, looks up fine itself, and says it runs as a
// client.
func TestSymmetricNAT(t *testing.T) {
	parallelWhenLong(t)
	bin, lab := labFor(t)
	s := lab.Public("s").Start(bin)
	p := lab.Public("p").Start(bin, "--seed", s.Seed())
	c := lab.Public("c").Start(bin, "--seed", s.Seed())
	b := lab.Router("r", Symmetric).AddHost("b").Start(bin, "--seed", s.Seed())
	self := waitReach(t, b, "symmetric")
	WaitFor(t, classifyWait, "b reports client mode", func() bool {
		st, err := b.Self()
		self = st
		return err == nil && st.ClientMode
	}, b)
	if self.ClientModeReason == "" {
		t.Errorf("b is in client mode without saying why: %+v", self)
	}
	res, err := b.Lookup(c.ID)
	if err != nil || !res.Found {
		t.Fatalf("b's own lookup of c: found %v, err %v", res.Found, err)
	}
	for i := range 10 {
		var target [20]byte
		_, _ = rand.Read(target[:])
		res, err := c.Lookup(hex.EncodeToString(target[:]))
		if err != nil {
			t.Fatalf("lookup %d from c: %v", i, err)
		}
		if res.Stats.Timeouts != 0 {
			t.Errorf("lookup %d from c met %d timeouts; only b could cause them", i, res.Stats.Timeouts)
		}
	}
	for _, n := range []*Node{s, p, c} {
		if ok, err := n.Holds(b.ID); err != nil || ok {
			t.Errorf("%s's table holds b (err %v); a symmetric-NAT node must be in no table", n.Host.Name, err)
		}
	}
}

// TestMappingsStayOpen: with the router's conntrack UDP timeouts cut to
// 10 s (unreplied) and 20 s (replied), B's keepalives (every 5 s) hold its
// mappings towards its rendezvous contacts, so C, which sends nothing for
// 2 minutes, still reaches B. All nodes revalidate only every 10
// minutes, so that nothing but B's keepalives holds the mappings (B's own
// liveness pings of its contacts would hold them too). (B
// registers with C too once C is in its table: then C reaches it over
// that kept session, else through S.) make nat-test only: over two
// minutes.
func TestMappingsStayOpen(t *testing.T) {
	parallelWhenLong(t)
	if !long() {
		t.Skip("two minutes idle; runs under make nat-test")
	}
	bin, lab := labFor(t)
	quiet := []string{"--revalidate-interval", "10m"}
	s := lab.Public("s").Start(bin, quiet...)
	p := lab.Public("p").Start(bin, append(quiet, "--seed", s.Seed())...)
	r := lab.Router("r", Cone)
	r.SetUDPTimeouts(10, 20)
	b := r.AddHost("b").Start(bin, append(quiet, "--seed", s.Seed(), "--nat-keepalive", "5s")...)
	waitReach(t, b, "nat")
	c := lab.Public("c").Start(bin, append(quiet, "--seed", s.Seed(), "--seed", p.Seed())...)
	waitReach(t, c, "public")
	reach(t, c, b)
	// The scenario itself: two minutes in which C sends nothing. Every
	// second of it, the router must hold B's mapping towards the
	// rendezvous s: between two keepalives it would lapse after 20 s.
	const idle = 2 * time.Minute
	t.Logf("idle for %v", idle)
	for end := time.Now().Add(idle); time.Now().Before(end); time.Sleep(time.Second) {
		if n := r.Conntrack(s.Host.IP); n == 0 {
			t.Fatalf("the router's mapping of b towards the rendezvous s lapsed during the idle time")
		}
	}
	reach(t, c, b)
	if st, err := b.Self(); err != nil || st.Reachability != "nat" || st.ClientMode {
		t.Errorf("b after the idle time: %+v (err %v)", st, err)
	}
}

// TestPortMapping: with miniupnpd on the router, B maps its port (UPnP IGD,
// then NAT-PMP), reports public, and C reaches B directly: no punch.
func TestPortMapping(t *testing.T) {
	parallelWhenLong(t)
	for _, mode := range []string{"upnp", "pmp"} {
		t.Run(mode, func(t *testing.T) {
			bin, lab := labFor(t)
			s := lab.Public("s").Start(bin)
			p := lab.Public("p").Start(bin, "--seed", s.Seed())
			r := lab.Router("r", Cone)
			r.MiniUPnPd()
			b := r.AddHost("b").Start(bin, "--seed", s.Seed(), "--nat", mode)
			waitReach(t, b, "public")
			c := lab.Public("c").Start(bin, "--seed", s.Seed(), "--seed", p.Seed())
			waitReach(t, c, "public")
			reach(t, c, b)
			if got := metric(t, b, `kadnode_nat_punches_total{outcome="ok"}`); got != 0 {
				t.Errorf("b made %v punches; a mapped node is reached directly", got)
			}
		})
	}
}
