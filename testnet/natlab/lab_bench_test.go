package natlab

import (
	"fmt"
	"testing"
)

// BenchmarkLabBridge times the rig's setup of the bridge network of
// TestBridgeConverges: its namespaces, links and addresses, and the
// permanent neighbour entries between every pair of hosts. Removing the
// namespaces is left out of the time.
func BenchmarkLabBridge(b *testing.B) {
	if why := Usable(); why != "" {
		b.Skip("NAT lab: " + why)
	}
	for range b.N {
		lab := New(b)
		for i := range bridgeNodes {
			lab.Public(fmt.Sprintf("n%d", i))
		}
		b.StopTimer()
		lab.Close()
		b.StartTimer()
	}
}
