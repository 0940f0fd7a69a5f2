package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/wire"
)

// rowResult is everything measured for one N and one kadnode configuration,
// with the anacrolix figures taken in the same, interleaved run.
type rowResult struct {
	n, k int

	aJoin, aSettle, kJoin cost
	kJoinsDone            cost // from the last node's WaitJoined until every join's refreshes ended
	aMem, kMem            perNode
	kMemRest              perNode    // kadnode after the idle timeout that follows the load
	kRestSessions         int        // kadnode live sessions, whole network, at rest
	kTransport            wire.Stats // kadnode transport counters after the lookups, whole network

	// [0] anacrolix get_peers traversal, [1] kadnode.
	cold, warm [2]lookupSummary
	aFindNode  lookupSummary

	aFind, kFind findableResult

	aLoad, kLoad []loadResult
	window       int

	values *valuesResult // nil when the values phase did not run
}

// header describes the run: date, versions, machine and command.
func writeHeader(w io.Writer, command string) {
	fmt.Fprintf(w, "## kadnode vs anacrolix/dht, side by side\n\n")
	fmt.Fprintf(w, "- date: %s\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "- versions: %s\n", versions())
	fmt.Fprintf(w, "- machine: %s/%s, %d CPUs (GOMAXPROCS %d), %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(w, "- load average at start: %s\n", loadAverage())
	fmt.Fprintf(w, "- command: `%s`\n\n", command)
}

// loadAverage reads the 1, 5 and 15 minute load averages: the machine may
// be shared, and its load weighs on every absolute figure.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func versions() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var parts []string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision":
			parts = append(parts, "kadnode "+s.Value[:min(12, len(s.Value))])
		case s.Key == "vcs.modified" && s.Value == "true":
			parts = append(parts, "with uncommitted changes")
		}
	}
	if len(parts) == 0 {
		// go run stamps no revision, nor go build with -buildvcs=false;
		// the Makefile's targets build with it.
		parts = append(parts, "kadnode revision not recorded (go run, or -buildvcs=false)")
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/anacrolix/dht/v2", "github.com/pion/dtls/v2", "github.com/cockroachdb/pebble":
			parts = append(parts, d.Path+" "+d.Version)
		}
	}
	return strings.Join(parts, ", ")
}

// writeRow prints one table: each figure for anacrolix and kadnode, and
// the ratio kadnode ÷ anacrolix.
func writeRow(w io.Writer, r rowResult) {
	fmt.Fprintf(w, "### N = %d, kadnode k = %d, α = %d (anacrolix: k = %d, α = %d)\n\n", r.n, r.k, kadnodeAlpha, anacrolixK, anacrolixAlpha)
	fmt.Fprintf(w, "| figure | anacrolix | kadnode | kadnode ÷ anacrolix |\n|---|---:|---:|---:|\n")
	line := func(name string, a, k float64, unit string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, fmtNum(a, unit), fmtNum(k, unit), fmtRatio(k, a))
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	line("join, whole network (s)", (r.aJoin.wall + r.aSettle.wall).Seconds(), r.kJoin.wall.Seconds(), "s")
	fmt.Fprintf(w, "| new node findable by all others (s) | %s | %s | %s |\n",
		fmtFindable(r.aFind), fmtFindable(r.kFind), fmtRatio(r.kFind.allDone.Seconds(), r.aFind.allDone.Seconds()))
	line("… others that found it (%)", pct(r.aFind.found, r.aFind.others), pct(r.kFind.found, r.kFind.others), "%")
	for _, ph := range []struct {
		name string
		s    [2]lookupSummary
	}{{"cold", r.cold}, {"warm", r.warm}} {
		a, k := ph.s[0], ph.s[1]
		line("exact-k lookups, "+ph.name+" (%)", 100*a.exactShare, 100*k.exactShare, "%")
		line("true k returned, "+ph.name+" (%)", 100*a.trueShare, 100*k.trueShare, "%")
		line("lookup p50, "+ph.name+" (ms)", ms(a.p50), ms(k.p50), "ms")
		line("lookup p90, "+ph.name+" (ms)", ms(a.p90), ms(k.p90), "ms")
		line("lookup p99, "+ph.name+" (ms)", ms(a.p99), ms(k.p99), "ms")
		line("messages per lookup, "+ph.name, a.messages, k.messages, "")
		line("timeouts per lookup, "+ph.name, a.timeouts, k.timeouts, "")
		fmt.Fprintf(w, "| DTLS handshakes per lookup, %s (resumed) | – | %.1f (%.1f) | |\n", ph.name, k.handshakes, k.resumed)
		line("cores used by lookups, "+ph.name, a.cost.cores(), k.cost.cores(), "")
	}
	f, k := r.aFindNode, r.warm[1]
	line("anacrolix find_node traversal: exact-k (%) vs kadnode warm", 100*f.exactShare, 100*k.exactShare, "%")
	line("anacrolix find_node traversal: true k (%) vs kadnode warm", 100*f.trueShare, 100*k.trueShare, "%")
	line("anacrolix find_node traversal: p50 (ms) vs kadnode warm", ms(f.p50), ms(k.p50), "ms")
	line("memory per node, heap after GC (KiB)", r.aMem.heap/1024, r.kMem.heap/1024, "KiB")
	line("memory per node, RSS / N (KiB)", r.aMem.rss/1024, r.kMem.rss/1024, "KiB")
	line("goroutines per node", r.aMem.goroutines, r.kMem.goroutines, "")
	if r.kMemRest != (perNode{}) {
		line("memory per node at rest, heap after GC (KiB)", r.aMem.heap/1024, r.kMemRest.heap/1024, "KiB")
		line("memory per node at rest, RSS / N (KiB)", r.aMem.rss/1024, r.kMemRest.rss/1024, "KiB")
		line("goroutines per node at rest", r.aMem.goroutines, r.kMemRest.goroutines, "")
	}
	aAns, aCores := loadMedians(r.aLoad)
	kAns, kCores := loadMedians(r.kLoad)
	line(fmt.Sprintf("answers/s from one node (find_node, %d in flight)", r.window), aAns, kAns, "")
	line("cores used under that load", aCores, kCores, "")
	fmt.Fprintf(w, "\nanacrolix join %.2f s = bootstrap %.2f s + one ping round %.2f s; kadnode joins' bucket refreshes ran on %.2f s after the last node joined; "+
		"findable: anacrolix %d round(s), kadnode %d round(s); kadnode live DTLS sessions after the lookups: %d (%.1f per node); "+
		"lookup errors: anacrolix %d/%d, kadnode %d/%d; load queries lost: anacrolix %s, kadnode %s; "+
		"kadnode handshakes %s (%d of the ok ones resumed; %d prepared ahead, %d of them used), datagrams dropped %s; kadnode live DTLS sessions at rest: %d (%.1f per node).\n\n",
		(r.aJoin.wall + r.aSettle.wall).Seconds(), r.aJoin.wall.Seconds(), r.aSettle.wall.Seconds(), r.kJoinsDone.wall.Seconds(),
		r.aFind.rounds, r.kFind.rounds, r.kTransport.LiveSessions, float64(r.kTransport.LiveSessions)/float64(r.n),
		r.cold[0].errors+r.warm[0].errors, r.cold[0].count+r.warm[0].count,
		r.cold[1].errors+r.warm[1].errors, r.cold[1].count+r.warm[1].count,
		totalLost(r.aLoad), totalLost(r.kLoad),
		fmtCounts(r.kTransport.Handshakes), r.kTransport.Resumed, r.kTransport.Prepared, r.kTransport.PreparedUsed, fmtCounts(r.kTransport.Dropped),
		r.kRestSessions, float64(r.kRestSessions)/float64(r.n))
}

// totalLost says how many load queries went unanswered, and why.
func totalLost(rs []loadResult) string {
	n, by := 0, map[string]uint64{}
	for _, r := range rs {
		n += r.lost
		for k, v := range r.lostBy {
			by[k] += uint64(v)
		}
	}
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%d (%s)", n, fmtCounts(by))
}

// fmtCounts prints the non-zero counters as "name n, …" in name order.
func fmtCounts(m map[string]uint64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func loadMedians(rs []loadResult) (perSecond, cores float64) {
	var ps, cs []float64
	for _, r := range rs {
		ps = append(ps, r.perSecond())
		cs = append(cs, r.cost.cores())
	}
	return median(ps), median(cs)
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func fmtNum(v float64, unit string) string {
	switch {
	case unit == "%":
		return fmt.Sprintf("%.1f", v)
	case v == 0:
		return "0"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// fmtFindable prints the time until all found the new node, or "not all"
// when some never did within the rounds.
func fmtFindable(f findableResult) string {
	if f.found < f.others {
		return "not all"
	}
	return fmtNum(f.allDone.Seconds(), "s")
}

// writeTargets checks the figures at kadnode k = 8 against the targets.
func writeTargets(w io.Writer, r rowResult) {
	fmt.Fprintf(w, "#### Targets at N = %d, kadnode k = %d\n\n| target | measured | met |\n|---|---:|---|\n", r.n, r.k)
	check := func(name string, v float64, ok bool, format string) {
		verdict := "yes"
		if !ok {
			verdict = "**no**"
		}
		fmt.Fprintf(w, "| %s | "+format+" | %s |\n", name, v, verdict)
	}
	exact := 100 * min(r.cold[1].exactShare, r.warm[1].exactShare)
	check("exact-k lookups ≥ 99 % (worse of cold, warm)", exact, exact >= 99, "%.1f %%")
	ratio := func(k, a float64) float64 {
		if a == 0 {
			return 0
		}
		return k / a
	}
	warm := ratio(float64(r.warm[1].p50), float64(r.warm[0].p50))
	check("warm lookup p50 ≤ 1.0× anacrolix get_peers p50", warm, warm <= 1.0, "%.2f×")
	cold := ratio(float64(r.cold[1].p50), float64(r.cold[0].p50))
	check("cold lookup p50 ≤ 3.0× anacrolix get_peers p50", cold, cold <= 3.0, "%.2f×")
	aAns, _ := loadMedians(r.aLoad)
	kAns, _ := loadMedians(r.kLoad)
	ans := ratio(kAns, aAns)
	check("answers/s from one node ≥ 1.0×", ans, ans >= 1.0, "%.2f×")
	mem := ratio(r.kMem.heap, r.aMem.heap)
	check("memory per node (heap after GC) ≤ 2.0×", mem, mem <= 2.0, "%.2f×")
	fmt.Fprintln(w)
}

func fmtRatio(k, a float64) string {
	if a == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", k/a)
}

func prepareText(n int) string {
	switch {
	case n < 0:
		return "none (off)"
	case n == 0:
		return fmt.Sprintf("%d (its default)", node.DefaultPrepareAhead)
	}
	return strconv.Itoa(n)
}

// delayText describes -delay for the notes' first line.
func delayText(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return fmt.Sprintf("; every datagram a node of either network sends is held %v before it leaves (-delay), in order, so a round trip between nodes takes %v more than on loopback; the load clients' queries are not held, the nodes' answers are", d, 2*d)
}

func revalidateText(d time.Duration) string {
	if d == 0 {
		return fmt.Sprintf("%v (its default)", node.DefaultRevalidateInterval)
	}
	return fmt.Sprintf("%v (-revalidate; its default is %v)", d, node.DefaultRevalidateInterval)
}

// writeNotes says how the figures were taken, next to the tables.
func writeNotes(w io.Writer, o options) {
	fmt.Fprintf(w, `How the figures were taken (in one process, on loopback: kadnode node i on 127.1.x.y by the testnet harness, anacrolix node i on 127.2.x.y, load clients on 127.3.x.y, so per-IP limits see one IP per peer as on a real network%s):

- Both networks join the same way: node 0 alone, then waves of %d nodes, each node through one random node of an earlier wave (the same plan for both). kadnode: Start + WaitJoined (the lookup of its own ID is done); the memory after the join is read once every node's join has also finished its bucket refreshes (WaitJoinDone), which close the join's sessions. anacrolix: Bootstrap, then one round of pings from every server to every entry of its table (the first step of its own table maintenance; it advertises only nodes that answered one of its queries). Each anacrolix server has its own unlimited send limiter (the package default is one 25 msg/s limiter shared by every server in the process, which drops replies) and only our nodes as starting nodes (the default resolves public routers by DNS).
- Lookups: L = %d (from a random node, for a random target) per pass. Cold pass: each pair once on each system; warm pass: the same pairs again (kadnode's DTLS sessions are up). The passes interleave lookup by lookup, in rotating order. anacrolix lookups are its own traversal (k = %d, α = %d) with get_peers queries, started from the whole table as its Bootstrap and Announce do; "exact-k" = the k closest that answered are exactly the true k closest of all node IDs (the querier left out); "true k returned" = share of the true k among them. Messages = queries sent + responses received. DTLS handshakes per lookup: those the querying kadnode node completed while the lookup ran (its background ones in that time too), and how many of them resumed a session met before.
- anacrolix v2.23.0's find_node handler takes the target from info_hash, which a find_node query does not carry, so its find_node answers are the responder's nodes closest to the zero ID whatever the target; its get_peers handler routes correctly. Both are measured; get_peers is the fair comparison.
- New node findable: one more node joins through a random node; then every other node looks it up, %d at a time, in up to %d rounds (anacrolix pings the entries it has not pinged yet before each round, as its maintenance would); the time runs from the start of the join until the last node has found it.
- kadnode prepares handshakes with %s of a lookup's next candidates while its queries are out (-prepare-ahead). Its liveness ping of its least-recently-seen contact runs every %s per node; with every node on the same two cores this background work (mostly fresh DTLS handshakes, since idle sessions are reaped) weighs on all kadnode figures at large N. anacrolix runs no maintenance after its ping round.
- Memory per node: heap after GC and RSS after returning freed memory to the OS, before and after building the network, divided by N (kadnode: after every join's refreshes, including Pebble with the harness's %d KiB memtable and %d KiB cache). "At rest": kadnode again after the lookups and the load, once its idle DTLS sessions have been reaped (%v after the load; the idle timeout is %v); anacrolix keeps no per-peer state to reap, so its after-join figure stands.
- Answers/s: %d clients with one find_node each in flight against one node for %v, %d runs alternating systems, median. kadnode clients are wire transports with established DTLS sessions; anacrolix clients send plain KRPC over UDP sockets. All queries carry ro=1. Cores = process CPU time / wall time during the phase (clients and server run in the same process, on the same cores).

`, delayText(o.delay), o.joinParallel, o.lookups, anacrolixK, anacrolixAlpha, findableWindow, findableRounds, prepareText(o.prepareAhead), revalidateText(o.revalidate),
		testnet.StoreMemTableSize>>10, testnet.StoreCacheSize>>10, o.restWait, wire.DefaultIdleTimeout, o.window, o.answerTime, o.answerRuns)
}
