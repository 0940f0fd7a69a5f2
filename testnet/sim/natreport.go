package sim

import (
	"fmt"
	"io"
	"strings"
)

// WriteNATMarkdown writes NAT results as markdown tables: the headline
// figures, the lookups by target and source kind, and what each kind of
// node concluded about itself.
func WriteNATMarkdown(w io.Writer, results []NATResult) error {
	var b strings.Builder
	b.WriteString("| N | public / cone / symmetric | live cone nodes found and reached | timeouts per lookup (mean, all lookups) | from public and cone nodes | symmetric nodes handed out | cone handed out at an address | punches ok / failed / discounted / skipped | classified right | build (wall / simulated) | measuring (wall) |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		cone := r.row("cone", "all")
		all := r.timeoutsMean(func(t NATTargetResult) bool { return t.Source == "all" })
		punchable := r.timeoutsMean(func(t NATTargetResult) bool { return t.Source == "public" || t.Source == "cone" })
		fmt.Fprintf(&b, "| %d | %d / %d / %d | %s found, %s reached | %.2f | %.2f | %d of %d (%d times) | %d | %d / %d / %d / %d | %s | %s / %s | %s |\n",
			r.Nodes, r.Members["public"], r.Members["cone"], r.Members["symmetric"], pct(cone.Found), pct(cone.Reached), all, punchable,
			r.Handouts.SymmetricNodes, r.Members["symmetric"], r.Handouts.SymmetricTimes, r.Handouts.ConeAtAddress,
			r.PunchesOK, r.PunchesFailed, r.PunchesDiscounted, r.PunchesSkipped, pct(r.accuracy()), r.Build.Duration.Round(1e9), r.Build.Simulated.Round(1e9), r.Duration.Round(1e9))
	}
	b.WriteString("\nLookups by target and by the kind of node that looks up (found and reached: the lookup returned the node at its external address, and a ping there then succeeded):\n\n")
	b.WriteString("| N | target | from | lookups | found | reached | timeouts mean / p50 / p99 | queries p50 / p99 | latency p50 / p99 |\n")
	b.WriteString("|---:|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		for _, t := range r.Targets {
			found, reached := pct(t.Found), pct(t.Reached)
			if t.Target == "random" {
				found, reached = "–", "–"
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %d | %s | %s | %.2f / %d / %d | %d / %d | %d / %d ms |\n", r.Nodes, t.Target, t.Source, t.Lookups,
				found, reached, t.TimeoutsMean, t.Timeouts.P50, t.Timeouts.P99, t.Queries.P50, t.Queries.P99, t.Latency.P50, t.Latency.P99)
		}
	}
	b.WriteString("\nWhat the nodes concluded about themselves, by their NAT model (and how many run as read-only clients):\n\n")
	b.WriteString("| N | model | nodes | public | nat | symmetric | unknown | client mode |\n")
	b.WriteString("|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		for _, kind := range []NATKind{Public, Cone, Symmetric} {
			k := kind.String()
			c := r.Classified[k]
			fmt.Fprintf(&b, "| %d | %s | %d |", r.Nodes, k, r.Members[k])
			for _, st := range Reachabilities {
				fmt.Fprintf(&b, " %d |", c[string(st)])
			}
			fmt.Fprintf(&b, " %d |\n", r.ClientMode[k])
		}
	}
	b.WriteString("\nQueries (find_node and ping) each node sent per minute while settling, by NAT model:\n\n")
	b.WriteString("| N | public | cone | symmetric |\n")
	b.WriteString("|---:|---:|---:|---:|\n")
	for _, r := range results {
		q := r.SettleQueries
		fmt.Fprintf(&b, "| %d | %.1f | %.1f | %.1f |\n", r.Nodes, q["public"], q["cone"], q["symmetric"])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// row is the lookup row for target and source, or the zero row.
func (r NATResult) row(target, source string) NATTargetResult {
	for _, t := range r.Targets {
		if t.Target == target && t.Source == source {
			return t
		}
	}
	return NATTargetResult{}
}

// timeoutsMean is the mean of timeouts per lookup over the rows keep
// selects, weighted by their lookups; rows of one source never overlap.
func (r NATResult) timeoutsMean(keep func(NATTargetResult) bool) float64 {
	sum, n := 0.0, 0
	for _, t := range r.Targets {
		if keep(t) {
			sum += t.TimeoutsMean * float64(t.Lookups)
			n += t.Lookups
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// expected is the reachability a node of each model should conclude.
var expected = map[string]string{"public": "public", "cone": "nat", "symmetric": "symmetric"}

// accuracy is the share of nodes whose conclusion matches their model.
func (r NATResult) accuracy() float64 {
	right, all := 0, 0
	for kind, n := range r.Members {
		all += n
		right += r.Classified[kind][expected[kind]]
	}
	return share(right, all)
}
