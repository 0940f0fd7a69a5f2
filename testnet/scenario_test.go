package testnet

import (
	"testing"
)

// The original problem: a node that contacts another must end up in its
// table, with its real address, so that a third node can find it.
func TestSeedScenario(t *testing.T) {
	net := newNet(t, Options{})
	s := add(t, net) // alone
	a := add(t, net, s.Contact())

	// A's join pinged S and looked itself up through S, so S holds A now,
	// with the address A listens on, without anyone telling it.
	got, ok := entry(s, a.ID)
	if !ok {
		t.Fatal("the seed does not hold the node that joined through it")
	}
	if got.Addr != a.Addr {
		t.Fatalf("the seed holds A at %v, but A listens on %v", got.Addr, a.Addr)
	}

	b := add(t, net, s.Contact()) // never told about A
	res := lookup(t, b, a.ID)
	if !res.Found {
		t.Fatalf("B did not find A: %+v", res)
	}
	if res.Addr != a.Addr {
		t.Fatalf("B found A at %v, but A listens on %v", res.Addr, a.Addr)
	}
	// And the other way round: A finds B, which only ever talked to S and A.
	if res := lookup(t, a, b.ID); !res.Found || res.Addr != b.Addr {
		t.Fatalf("A did not find B at %v: %+v", b.Addr, res)
	}
}
