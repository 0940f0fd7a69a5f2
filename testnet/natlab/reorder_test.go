package natlab

import (
	"fmt"
	"testing"
	"time"
)

// Sizes of TestLookupsOverAReorderingPath.
const (
	reorderNodes = 12
	// reorderJitter makes datagrams of one pair sent within 2 ms of each
	// other swap at random, as the two datagrams of a DTLS final flight
	// are.
	reorderJitter = 2 * time.Millisecond
)

// TestLookupsOverAReorderingPath runs kadnode processes behind a delay
// router (round trips of 20-120 ms) that reorders datagrams sent close
// together. Every node looks up another; each lookup must find its target
// without a single timeout. When the Finished of a final flight overtook
// its ChangeCipherSpec and was dropped, one query in nine timed out here.
func TestLookupsOverAReorderingPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs kadnode processes in network namespaces")
	}
	bin := Binary(t, modRoot)
	lab := New(t)
	r := lab.DelayRouter("dr", 10*time.Millisecond, 60*time.Millisecond, reorderJitter)
	flags := []string{"--k", "8", "--log-level", "info"}
	nodes := []*Node{r.AddHost("n0").Start(bin, flags...)}
	for i := 1; i < reorderNodes; i++ {
		nodes = append(nodes, r.AddHost(fmt.Sprintf("n%d", i)).Start(bin, append([]string{"--seed", nodes[0].Seed()}, flags...)...))
	}
	everyNode(t, nodes, maxJoinTime, "every node to join", func(nd *Node) bool {
		s, err := nd.Self()
		return err == nil && s.Joined
	})
	for i, nd := range nodes {
		target := nodes[(i+reorderNodes/2)%reorderNodes]
		res, err := nd.Lookup(target.ID)
		if err != nil {
			t.Fatalf("%s looking up %s: %v", nd.Host.Name, target.Host.Name, err)
		}
		if !res.Found || res.Addr != target.Addr() || res.Stats.Timeouts != 0 {
			t.Errorf("%s looking up %s: found %v at %q (want %s), %d queries, %d timeouts", nd.Host.Name, target.Host.Name,
				res.Found, res.Addr, target.Addr(), res.Stats.Queries, res.Stats.Timeouts)
		}
	}
}
