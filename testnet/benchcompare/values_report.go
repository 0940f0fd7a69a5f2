package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kadnode/kadnode/testnet/stats"
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
	ps := stats.Percentiles(durs, 50, 99)
	s.p50, s.p99 = ps[0], ps[1]
	return s
}

func immutableOnly(r valueRecord) bool { return !r.mutable }
func mutableOnly(r valueRecord) bool   { return r.mutable }

// writeValues prints the values phase of one row: each figure for
// anacrolix as it is, anacrolix with routed get replies, and kadnode, with
// kadnode's ratio to each, then the targets.
func writeValues(w io.Writer, r rowResult) {
	v := r.values
	fmt.Fprintf(w, "#### Values (BEP 44) at N = %d, kadnode k = %d: %d items (%d immutable, %d mutable, each mutable one put again at seq 2)\n\n",
		r.n, r.k, v.items, v.items-v.mutable, v.mutable)
	fmt.Fprintf(w, "| figure | anacrolix getput | anacrolix, routed | kadnode | kadnode ÷ anacrolix getput | kadnode ÷ anacrolix routed |\n|---|---:|---:|---:|---:|---:|\n")
	line := func(name string, x [numValueSystems]float64, unit string) {
		a, k, rt := x[sysAnacrolix], x[sysKadnode], x[sysRouted]
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, fmtNum(a, unit), fmtNum(rt, unit), fmtNum(k, unit), fmtRatio(k, a), fmtRatio(k, rt))
	}
	all := func(recs [numValueSystems][]valueRecord, keep func(valueRecord) bool) (out [numValueSystems]valueSummary) {
		for i := range recs {
			out[i] = summarizeValues(recs[i], keep)
		}
		return out
	}
	figure := func(s [numValueSystems]valueSummary, f func(valueSummary) float64) (out [numValueSystems]float64) {
		for i := range s {
			out[i] = f(s[i])
		}
		return out
	}
	success := func(s valueSummary) float64 { return s.success() }
	p50 := func(s valueSummary) float64 { return float64(s.p50) / float64(time.Millisecond) }
	p99 := func(s valueSummary) float64 { return float64(s.p99) / float64(time.Millisecond) }
	queries := func(s valueSummary) float64 { return s.queries }
	puts := all(v.puts, nil)
	line("put success (%)", figure(puts, success), "%")
	line("put p50 (ms)", figure(puts, p50), "ms")
	line("put p99 (ms)", figure(puts, p99), "ms")
	line("queries per put", figure(puts, queries), "")
	line("nodes that stored per put", figure(puts, func(s valueSummary) float64 { return s.stored }), "")
	worst := puts[sysKadnode].success() // kadnode's lowest success of put, cold get, warm get
	for _, ph := range []struct {
		name string
		recs [numValueSystems][]valueRecord
	}{{"cold", v.getCold}, {"warm", v.getWarm}} {
		gets := all(ph.recs, nil)
		line("get success, "+ph.name+" (%)", figure(gets, success), "%")
		line("get p50, "+ph.name+" (ms)", figure(gets, p50), "ms")
		line("get p99, "+ph.name+" (ms)", figure(gets, p99), "ms")
		line("queries per get, "+ph.name, figure(gets, queries), "")
		imm, mut := all(ph.recs, immutableOnly), all(ph.recs, mutableOnly)
		line("… get p50, "+ph.name+", immutable (ms)", figure(imm, p50), "ms")
		line("… get p50, "+ph.name+", mutable (ms)", figure(mut, p50), "ms")
		line("… queries per get, "+ph.name+", immutable", figure(imm, queries), "")
		line("… queries per get, "+ph.name+", mutable", figure(mut, queries), "")
		worst = min(worst, gets[sysKadnode].success())
	}
	fmt.Fprintf(w, "\nFailures: anacrolix getput %s; anacrolix routed %s; kadnode %s.\n\n",
		valueFailures(v, sysAnacrolix), valueFailures(v, sysRouted), valueFailures(v, sysKadnode))

	warm := all(v.getWarm, nil)
	fmt.Fprintf(w, "##### Values targets at N = %d, kadnode k = %d\n\n| target | measured | met |\n|---|---:|---|\n", r.n, r.k)
	verdict := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "**no**"
	}
	fmt.Fprintf(w, "| kadnode success ≥ 99 %% (worst of put, cold get, warm get) | %.1f %% | %s |\n", worst, verdict(worst >= 99))
	for _, ref := range []struct {
		name string
		sys  int
	}{{"anacrolix getput", sysAnacrolix}, {"anacrolix routed", sysRouted}} {
		ratio := 0.0
		if a := warm[ref.sys].p50; a > 0 {
			ratio = float64(warm[sysKadnode].p50) / float64(a)
		}
		fmt.Fprintf(w, "| warm get p50 ≤ 1.0× %s | %.2f× | %s |\n", ref.name, ratio, verdict(ratio > 0 && ratio <= 1.0))
	}
	fmt.Fprintln(w)
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
	fmt.Fprintf(w, `- Values (BEP 44), last (after the load and the at-rest memory, so as to change none of the figures above): %d items, every other one mutable (Ed25519-signed as BEP 44 specifies, every other mutable one salted), values of up to %d bytes. Each item is put from a random node; then each mutable item is put again, at seq 2 with a new value, from another random node; then each item is got from a random node that put none of its versions, twice: cold, then warm (the same pairs again). Operations interleave one by one, the three systems taking turns in an order that rotates. A put succeeds when at least one node other than the putter stored it (anacrolix: counted in the servers' stores, since its Put also stores on the putter whatever its distance; kadnode: the nodes that acknowledged, itself included when among the k closest); a get succeeds when it returns the latest version (immutable: the same value; mutable: seq 2 and its value). "anacrolix getput" runs its exts/getput Put and Get as they are: a get traversal with its own α = %d and K = 8 that keeps only replies with a token and ends at the first immutable hit, then, for a put, a put to each of the closest. anacrolix v2.23.0 answers get with the nodes closest to the query's info_hash, which a get does not carry, so its replies lead toward the zero ID whatever the target, and these traversals reach the nodes near an item only by chance. "anacrolix, routed" is the same traversal whose get queries also carry info_hash = target (and ask for IPv4 nodes only: the nodes6 list repeats IPv4 nodes as IPv4-mapped addresses, which the traversal counts as other nodes), on the same network with its own copies of the items: what anacrolix would do with that fixed. kadnode runs PutItem and GetItem (α = %d, the row's k; a get ends at the first immutable hit, a mutable get runs to the end as anacrolix's does). Queries per operation = KRPC queries the querying node sent (anacrolix: its server's OutboundQueriesAttempted; kadnode: the lookup's queries plus the puts); DTLS handshake datagrams are not counted. Each anacrolix server keeps items for %v (its ServerConfig.Exp, whose zero default expires every item as it is stored).

`, o.values, valueMaxLen, getputAlpha, kadnodeAlpha, anacrolixItemExpiry)
}
