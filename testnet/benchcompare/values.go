package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// valueItem is one version of a BEP 44 item both systems store: an
// immutable one (priv nil) or a mutable one signed with priv, under salt
// (may be empty) at seq.
type valueItem struct {
	value []byte // the value before bencoding: it travels as a bencoded byte string
	priv  ed25519.PrivateKey
	salt  []byte
	seq   int64
}

func (it valueItem) mutable() bool { return it.priv != nil }

// bencoded is the item's value as it goes on the wire ("len:bytes").
func (it valueItem) bencoded() []byte {
	return append([]byte(strconv.Itoa(len(it.value))+":"), it.value...)
}

// valueOutcome is what one put or get returned and cost.
type valueOutcome struct {
	ok      bool // put: stored by at least one node; get: the latest version came back
	queries int  // KRPC queries the operation sent
	stored  int  // put: nodes that stored the item
	err     error
}

// valueRecord is one measured operation.
type valueRecord struct {
	valueOutcome
	mutable bool
	wall    time.Duration
}

// valueSystem is how one system puts and gets items from its node from.
type valueSystem struct {
	put func(ctx context.Context, from int, it valueItem) valueOutcome
	get func(ctx context.Context, from int, want valueItem) valueOutcome
}

// The systems of the values phase, by index.
const (
	sysAnacrolix = iota // anacrolix's exts/getput as it is
	sysKadnode
	sysRouted // anacrolix's traversal with get replies that route (values_routed.go)
	numValueSystems
)

// valuesResult is the values phase of every system, by index.
type valuesResult struct {
	items, mutable   int
	puts             [numValueSystems][]valueRecord // first puts, then the mutable items again at a higher seq
	getCold, getWarm [numValueSystems][]valueRecord
}

// valueOp is one operation to make on both systems: from which node, with
// which item version.
type valueOp struct {
	from int
	item valueItem
}

// valuePlan is the whole phase, drawn once and run on both systems.
type valuePlan struct {
	puts, updates, gets []valueOp
}

// newValuePlan draws count items, every other one mutable (and every other
// mutable one salted), each put from a random node; then every mutable item
// is put again at seq 2 with a new value from another random node; then
// every item is got from a random node that put none of its versions.
func newValuePlan(count, n int, rng *rand.Rand) valuePlan {
	var p valuePlan
	for i := range count {
		it := valueItem{value: randomValue(rng, i, 1)}
		if i%2 == 1 {
			seed := make([]byte, ed25519.SeedSize)
			for j := range seed {
				seed[j] = byte(rng.UintN(256))
			}
			it.priv, it.seq = ed25519.NewKeyFromSeed(seed), 1
			if i%4 == 3 {
				it.salt = []byte("salt " + strconv.Itoa(i))
			}
		}
		p.puts = append(p.puts, valueOp{from: rng.IntN(n), item: it})
	}
	latest := make([]valueOp, len(p.puts))
	copy(latest, p.puts)
	for i, op := range p.puts {
		if !op.item.mutable() {
			continue
		}
		up := op.item
		up.value, up.seq = randomValue(rng, i, 2), 2
		from := otherNode(rng, n, op.from)
		p.updates = append(p.updates, valueOp{from: from, item: up})
		latest[i] = valueOp{from: from, item: up}
	}
	for i, op := range latest {
		p.gets = append(p.gets, valueOp{from: otherNode(rng, n, op.from, p.puts[i].from), item: op.item})
	}
	return p
}

// otherNode draws a node that is none of not (when n leaves one).
func otherNode(rng *rand.Rand, n int, not ...int) int {
	for range 64 {
		i := rng.IntN(n)
		ok := true
		for _, x := range not {
			ok = ok && i != x
		}
		if ok {
			return i
		}
	}
	return rng.IntN(n)
}

// randomValue is a value of item i at version ver: readable, unique, and
// of a random length up to valueMaxLen.
func randomValue(rng *rand.Rand, i, ver int) []byte {
	b := fmt.Appendf(nil, "item %d version %d ", i, ver)
	for range rng.IntN(valueMaxLen - len(b)) {
		b = append(b, 'a'+byte(rng.UintN(26)))
	}
	return b
}

// runValues runs the plan on every system, interleaved operation by
// operation in an order that alternates, as the lookup passes are: puts,
// then updates, then a cold and a warm pass of gets over the same pairs.
func runValues(ctx context.Context, p valuePlan, sys [numValueSystems]valueSystem, logf func(string, ...any)) valuesResult {
	r := valuesResult{items: len(p.puts), mutable: len(p.updates)}
	puts := append(append([]valueOp(nil), p.puts...), p.updates...)
	runValueOps(ctx, "puts", puts, sys, func(s valueSystem) valueFunc { return s.put }, &r.puts, logf)
	runValueOps(ctx, "cold gets", p.gets, sys, func(s valueSystem) valueFunc { return s.get }, &r.getCold, logf)
	runValueOps(ctx, "warm gets", p.gets, sys, func(s valueSystem) valueFunc { return s.get }, &r.getWarm, logf)
	return r
}

type valueFunc func(ctx context.Context, from int, it valueItem) valueOutcome

// runValueOps runs every op on every system, in turn, and records them.
func runValueOps(ctx context.Context, label string, ops []valueOp, sys [numValueSystems]valueSystem, pick func(valueSystem) valueFunc,
	out *[numValueSystems][]valueRecord, logf func(string, ...any)) {
	step := max(1, len(ops)/4)
	for i, op := range ops {
		if i > 0 && i%step == 0 {
			logf("values: %d of %d %s done on each system", i, len(ops), label)
		}
		for j := range sys {
			s := (i + j) % len(sys)
			if ctx.Err() != nil {
				return
			}
			out[s] = append(out[s], runValueOp(ctx, pick(sys[s]), op))
		}
	}
}

func runValueOp(ctx context.Context, f valueFunc, op valueOp) valueRecord {
	octx, cancel := context.WithTimeout(ctx, valueTimeout)
	defer cancel()
	start := time.Now()
	out := f(octx, op.from, op.item)
	return valueRecord{valueOutcome: out, mutable: op.item.mutable(), wall: time.Since(start)}
}
