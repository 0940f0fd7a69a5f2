package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kadnode/kadnode/testnet"
)

// valueSummary is what a series of operations of one system measured.
type valueSummary struct {
	count, ok int
	p50, p99  time.Duration
	queries   float64 // per operation
	stored    float64 // per put
	firstErr  error
}

func (s valueSummary) success() float64 { return pct(s.ok, s.count) }

// summarizeValues sums up the records that keep accepts (nil: all).
func summarizeValues(recs []valueRecord, keep func(valueRecord) bool) valueSummary {
	var s valueSummary
	var durs []time.Duration
	for _, r := range recs {
		if keep != nil && !keep(r) {
			continue
		}
		s.count++
		durs = append(durs, r.wall)
		s.queries += float64(r.queries)
		s.stored += float64(r.stored)
		if r.ok {
			s.ok++
		} else if s.firstErr == nil {
			s.firstErr = r.err
			if s.firstErr == nil {
				s.firstErr = fmt.Errorf("stored by no node")
			}
		}
	}
	if s.count == 0 {
		return s
	}
	s.queries /= float64(s.count)
	s.stored /= float64(s.count)
	ps := testnet.Percentiles(durs, 50, 99)
	s.p50, s.p99 = ps[0], ps[1]
	return s
}

func immutableOnly(r valueRecord) bool { return !r.mutable }
func mutableOnly(r valueRecord) bool   { return r.mutable }

// writeValues prints the values phase of one row: each figure for
// anacrolix and kadnode and the ratio, then the targets.
func writeValues(w io.Writer, r rowResult) {
	v := r.values
	fmt.Fprintf(w, "#### Values (BEP 44) at N = %d, kadnode k = %d: %d items (%d immutable, %d mutable, each mutable one put again at seq 2)\n\n",
		r.n, r.k, v.items, v.items-v.mutable, v.mutable)
	fmt.Fprintf(w, "| figure | anacrolix | kadnode | kadnode ÷ anacrolix |\n|---|---:|---:|---:|\n")
	line := func(name string, a, k float64, unit string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, fmtNum(a, unit), fmtNum(k, unit), fmtRatio(k, a))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	both := func(recs [2][]valueRecord, keep func(valueRecord) bool) (a, k valueSummary) {
		return summarizeValues(recs[0], keep), summarizeValues(recs[1], keep)
	}
	pa, pk := both(v.puts, nil)
	line("put success (%)", pa.success(), pk.success(), "%")
	line("put p50 (ms)", ms(pa.p50), ms(pk.p50), "ms")
	line("put p99 (ms)", ms(pa.p99), ms(pk.p99), "ms")
	line("queries per put", pa.queries, pk.queries, "")
	line("nodes that stored per put", pa.stored, pk.stored, "")
	worst := pk.success() // kadnode's lowest success of put, cold get, warm get
	for _, ph := range []struct {
		name string
		recs [2][]valueRecord
	}{{"cold", v.getCold}, {"warm", v.getWarm}} {
		a, k := both(ph.recs, nil)
		line("get success, "+ph.name+" (%)", a.success(), k.success(), "%")
		line("get p50, "+ph.name+" (ms)", ms(a.p50), ms(k.p50), "ms")
		line("get p99, "+ph.name+" (ms)", ms(a.p99), ms(k.p99), "ms")
		line("queries per get, "+ph.name, a.queries, k.queries, "")
		ai, ki := both(ph.recs, immutableOnly)
		am, km := both(ph.recs, mutableOnly)
		line("… get p50, "+ph.name+", immutable (ms)", ms(ai.p50), ms(ki.p50), "ms")
		line("… get p50, "+ph.name+", mutable (ms)", ms(am.p50), ms(km.p50), "ms")
		line("… queries per get, "+ph.name+", immutable", ai.queries, ki.queries, "")
		line("… queries per get, "+ph.name+", mutable", am.queries, km.queries, "")
		worst = min(worst, k.success())
	}
	fmt.Fprintf(w, "\nFailures: anacrolix %s; kadnode %s.\n\n", valueFailures(v, 0), valueFailures(v, 1))

	ga, gk := both(v.getWarm, nil)
	fmt.Fprintf(w, "##### Values targets at N = %d, kadnode k = %d\n\n| target | measured | met |\n|---|---:|---|\n", r.n, r.k)
	verdict := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	fmt.Fprintf(w, "| kadnode success ≥ 99 %% (worst of put, cold get, warm get) | %.1f %% | %s |\n", worst, verdict(worst >= 99))
	ratio := 0.0
	if ga.p50 > 0 {
		ratio = float64(gk.p50) / float64(ga.p50)
	}
	fmt.Fprintf(w, "| warm get p50 ≤ 1.0× anacrolix | %.2f× | %s |\n\n", ratio, verdict(ratio > 0 && ratio <= 1.0))
}

// valueFailures says how many operations of system s failed, and the first error.
func valueFailures(v *valuesResult, s int) string {
	p, c, wm := summarizeValues(v.puts[s], nil), summarizeValues(v.getCold[s], nil), summarizeValues(v.getWarm[s], nil)
	text := fmt.Sprintf("%d of %d puts, %d of %d cold gets, %d of %d warm gets", p.count-p.ok, p.count, c.count-c.ok, c.count, wm.count-wm.ok, wm.count)
	for _, x := range []valueSummary{p, c, wm} {
		if x.firstErr != nil {
			return text + fmt.Sprintf(" (first: %v)", x.firstErr)
		}
	}
	return text
}

// writeValuesNotes says how the values phase is measured.
func writeValuesNotes(w io.Writer, o options) {
	fmt.Fprintf(w, `- Values (BEP 44), after the lookups: %d items, every other one mutable (Ed25519-signed as BEP 44 specifies, every other mutable one salted), values of up to %d bytes. Each item is put from a random node; then each mutable item is put again, at seq 2 with a new value, from another random node; then each item is got from a random node that put none of its versions, twice: cold, then warm (the same pairs again). Operations interleave one by one, alternating which system goes first. A put succeeds when at least one node other than the putter stored it (anacrolix: counted in the servers' stores, since its Put also stores on the putter whatever its distance; kadnode: the nodes that acknowledged, itself included when among the k closest); a get succeeds when it returns the latest version (immutable: the same value; mutable: seq 2 and its value). anacrolix runs its exts/getput Put and Get as they are: a get traversal with its own α = 15 and K = 8 that keeps only replies with a token and ends at the first immutable hit, then, for a put, a put to each of the closest. kadnode runs PutItem and GetItem (α = %d, the row's k; a get ends at the first immutable hit, a mutable get runs to the end as anacrolix's does). Queries per operation = KRPC queries the querying node sent (anacrolix: its server's OutboundQueriesAttempted; kadnode: the lookup's queries plus the puts); DTLS handshake datagrams are not counted. Each anacrolix server keeps items for %v (its ServerConfig.Exp, whose zero default expires every item as it is stored).

`, o.values, valueMaxLen, kadnodeAlpha, anacrolixItemExpiry)
}
