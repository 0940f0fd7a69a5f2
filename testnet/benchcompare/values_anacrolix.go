package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"

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
	s := a.server(from)
	p := anacrolixPut(it)
	target := p.Target()
	before := s.Stats().OutboundQueriesAttempted
	_, err := getput.Put(ctx, krpc.ID(target), s, it.salt, func(int64) bep44.Put { return p })
	out := valueOutcome{queries: int(s.Stats().OutboundQueriesAttempted - before), err: err}
	out.stored = a.holders(target, it.seq, from)
	out.ok = err == nil && out.stored > 0
	return out
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

func (a *anacrolixNet) getValue(ctx context.Context, from int, want valueItem) valueOutcome {
	s := a.server(from)
	p := anacrolixPut(want)
	target := p.Target()
	before := s.Stats().OutboundQueriesAttempted
	res, _, err := getput.Get(ctx, target, s, nil, want.salt)
	out := valueOutcome{queries: int(s.Stats().OutboundQueriesAttempted - before), err: err}
	switch {
	case err != nil:
	case res.Seq != want.seq || !bytes.Equal(res.V, want.bencoded()):
		out.err = fmt.Errorf("item %x: got seq %d, want %d", target, res.Seq, want.seq)
	default:
		out.ok = true
	}
	return out
}
