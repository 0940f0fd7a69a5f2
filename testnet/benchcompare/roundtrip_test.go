package main

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
)

// BenchmarkFindNodeRoundTrip measures one find_node round trip to a node
// of a small network, one query at a time: the per-hop cost under every
// lookup. kadnode's runs over an established DTLS session.
func BenchmarkFindNodeRoundTrip(b *testing.B) {
	ctx := context.Background()
	const n = 16
	plan := newJoinPlan(n, 4, rand.New(rand.NewPCG(7, 8)))
	b.Run("anacrolix", func(b *testing.B) {
		an := joinedAnacrolix(b, ctx, plan)
		clients, err := newUDPClients(1, an.server(3).Addr().(*net.UDPAddr))
		if err != nil {
			b.Fatal(err)
		}
		defer closeClients(clients)
		roundTrips(b, clients[0])
	})
	b.Run("kadnode", func(b *testing.B) {
		kn := joinedKadnode(b, ctx, 8, plan)
		m := kn.member(3)
		clients, err := newKadnodeClients(ctx, 1, m.Addr, m.ID)
		if err != nil {
			b.Fatal(err)
		}
		defer closeClients(clients)
		roundTrips(b, clients[0])
	})
}

func roundTrips(b *testing.B, c loadClient) {
	ctx := context.Background()
	target := krpc.ID{19: 1} // never all zero: KRPC cannot carry that ID
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		target[0], target[1] = byte(i), byte(i>>8)
		if err := c.findNode(ctx, target); err != nil {
			b.Fatal(err)
		}
	}
}
