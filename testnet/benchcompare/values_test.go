package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestValuePlanGetsTheLatestVersionFromANodeThatPutNone(t *testing.T) {
	const items, n = 40, 30
	p := newValuePlan(items, n, rand.New(rand.NewPCG(9, 10)))
	if len(p.puts) != items || len(p.updates) != items/2 || len(p.gets) != items {
		t.Fatalf("plan has %d puts, %d updates, %d gets; want %d, %d, %d", len(p.puts), len(p.updates), len(p.gets), items, items/2, items)
	}
	updated := map[int]valueOp{}
	u := 0
	for i, op := range p.puts {
		if !op.item.mutable() {
			continue
		}
		up := p.updates[u]
		u++
		if up.item.seq != op.item.seq+1 || bytes.Equal(up.item.value, op.item.value) || up.from == op.from {
			t.Fatalf("item %d: update seq %d after %d, same value %v, same node %v", i, up.item.seq, op.item.seq,
				bytes.Equal(up.item.value, op.item.value), up.from == op.from)
		}
		updated[i] = up
	}
	for i, g := range p.gets {
		want, putters := p.puts[i], []int{p.puts[i].from}
		if up, ok := updated[i]; ok {
			want, putters = up, append(putters, up.from)
		}
		if g.item.seq != want.item.seq || !bytes.Equal(g.item.value, want.item.value) {
			t.Fatalf("item %d: the get wants seq %d, not the latest %d", i, g.item.seq, want.item.seq)
		}
		for _, f := range putters {
			if g.from == f {
				t.Fatalf("item %d: got from node %d, which put it", i, f)
			}
		}
	}
}

// TestItemTargetsAgree checks that both systems address every item alike,
// so that they store and look up the same targets.
func TestItemTargetsAgree(t *testing.T) {
	p := newValuePlan(8, 10, rand.New(rand.NewPCG(11, 12)))
	for _, op := range append(p.puts, p.updates...) {
		it, err := kadnodeItem(op.item)
		if err != nil {
			t.Fatal(err)
		}
		ap := anacrolixPut(op.item)
		if it.Target() != ap.Target() {
			t.Fatalf("item %q: kadnode target %x, anacrolix %x", op.item.value, it.Target(), ap.Target())
		}
	}
}

// TestValuesTinyNetworks runs the values phase on every system at a tiny
// size. On kadnode every put must be stored and every get must return the
// latest version, never an older one. On both anacrolix systems every put
// must be stored, and at least half the gets of each pass must return the
// latest version: anacrolix's get replies lead toward the zero ID (see
// values_routed.go), and in a young 20-node network its last joiners know
// two or three others, so a get from one of them can stall before it
// reaches a holder, or reach only nodes that the update's put missed and
// return the first version (the figures the benchmark reports).
func TestValuesTinyNetworks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), tinyRunBound)
	defer cancel()
	const n, items = 20, 10
	plan := newJoinPlan(n, 4, rand.New(rand.NewPCG(13, 14)))
	an := joinedAnacrolix(t, ctx, plan)
	kn := joinedKadnode(t, ctx, 8, plan)
	vp := newValuePlan(items, n, rand.New(rand.NewPCG(15, 16)))
	v := runValues(ctx, vp, [numValueSystems]valueSystem{an.valueSystem(), kn.valueSystem(), an.routedValueSystem()}, func(string, ...any) {})
	for s, name := range []string{sysAnacrolix: "anacrolix", sysKadnode: "kadnode", sysRouted: "anacrolix routed"} {
		for _, ph := range []struct {
			name string
			recs []valueRecord
			want int
		}{{"puts", v.puts[s], items + items/2}, {"cold gets", v.getCold[s], items}, {"warm gets", v.getWarm[s], items}} {
			least := ph.want
			if s != sysKadnode && ph.name != "puts" {
				least = ph.want / 2
			}
			sum := summarizeValues(ph.recs, nil)
			if sum.count != ph.want || sum.ok < least || sum.queries == 0 {
				t.Errorf("%s %s: %d of %d succeeded (want %d of %d), %.1f queries each; first error: %v",
					name, ph.name, sum.ok, sum.count, least, ph.want, sum.queries, sum.firstErr)
			}
			for _, r := range ph.recs {
				if s == sysKadnode && !r.ok && r.err != nil && strings.Contains(r.err.Error(), "got seq") {
					t.Errorf("%s %s: %v", name, ph.name, r.err)
				}
			}
		}
	}
	var md bytes.Buffer
	writeValues(&md, rowResult{n: n, k: 8, values: &v})
	for _, want := range []string{"#### Values (BEP 44) at N = 20", "| get p50, warm (ms) |", "| kadnode success ≥ 99 %"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, md.String())
		}
	}
}
