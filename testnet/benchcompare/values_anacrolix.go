package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/exts/getput"
	"github.com/anacrolix/dht/v2/krpc"
)

// anacrolixPut is it as anacrolix's bep44.Put, signed when mutable.
func anacrolixPut(it valueItem) bep44.Put {
	p := bep44.Put{V: string(it.value), Salt: it.salt, Seq: it.seq}
	if it.mutable() {
		var k [32]byte
		copy(k[:], it.priv.Public().(ed25519.PublicKey))
		p.K = &k
		p.Sign(it.priv)
	}
	return p
}

// valueSystem is anacrolix's put and get: its getput package, as is (a
// get traversal with its own α = 15 and K = 8; an immutable get ends at the
// first hit). Queries are counted by the querying server's own counter.
func (a *anacrolixNet) valueSystem() valueSystem {
	return valueSystem{put: a.putValue, get: a.getValue}
}

func (a *anacrolixNet) putValue(ctx context.Context, from int, it valueItem) valueOutcome {
	return a.counted(from, it, func(s *dht.Server, p bep44.Put, target bep44.Target) valueOutcome {
		_, err := getput.Put(ctx, krpc.ID(target), s, it.salt, func(int64) bep44.Put { return p })
		return a.stored(target, it.seq, from, err)
	})
}

func (a *anacrolixNet) getValue(ctx context.Context, from int, want valueItem) valueOutcome {
	return a.counted(from, want, func(s *dht.Server, _ bep44.Put, target bep44.Target) valueOutcome {
		res, _, err := getput.Get(ctx, target, s, nil, want.salt)
		if err != nil {
			return valueOutcome{err: err}
		}
		return checkGot(target, want, res.V, res.Seq)
	})
}

// counted runs f from server from with it as a bep44.Put, and counts the
// queries the server sent meanwhile (operations run one at a time).
func (a *anacrolixNet) counted(from int, it valueItem, f func(*dht.Server, bep44.Put, bep44.Target) valueOutcome) valueOutcome {
	s := a.server(from)
	p := anacrolixPut(it)
	target := p.Target()
	before := s.Stats().OutboundQueriesAttempted
	out := f(s, p, target)
	out.queries = int(s.Stats().OutboundQueriesAttempted - before)
	return out
}

// stored is the outcome of a put that ended with err: how many nodes
// other than the putter hold the item at seq.
func (a *anacrolixNet) stored(target bep44.Target, seq int64, from int, err error) valueOutcome {
	n := a.holders(target, seq, from)
	return valueOutcome{ok: err == nil && n > 0, stored: n, err: err}
}

// checkGot compares the bencoded value v at seq that a get returned with want.
func checkGot(target bep44.Target, want valueItem, v []byte, seq int64) valueOutcome {
	if want.mutable() && seq != want.seq || !bytes.Equal(v, want.bencoded()) {
		return valueOutcome{err: fmt.Errorf("item %x: got seq %d, want %d", target, seq, want.seq)}
	}
	return valueOutcome{ok: true}
}

// holders counts the servers other than from whose store holds the item
// at target at seq. The putting server is left out: anacrolix's Put stores
// the item on the putter first, whether or not it is among the closest.
func (a *anacrolixNet) holders(target bep44.Target, seq int64, from int) int {
	a.mu.Lock()
	stores := append([]*bep44.Memory(nil), a.stores...)
	a.mu.Unlock()
	n := 0
	for i, st := range stores {
		if i == from || st == nil {
			continue
		}
		if it, err := st.Get(target); err == nil && it.Seq == seq {
			n++
		}
	}
	return n
}
