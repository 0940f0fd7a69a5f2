package sim

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteMarkdown writes the results as markdown tables: lookups without
// churn, lookups with churn, and the cost of the network per node.
func WriteMarkdown(w io.Writer, results []ExperimentResult) error {
	var b strings.Builder
	b.WriteString("| N | log2 N | rounds mean | rounds p50 | rounds p99 | queries mean | queries p50 | queries p99 | latency p50 | latency p99 | exact k | found |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		if p, ok := r.phase(0); ok {
			fmt.Fprintf(&b, "| %d | %.1f | %.2f | %d | %d | %.1f | %d | %d | %d ms | %d ms | %s | %s |\n", r.Nodes, math.Log2(float64(r.Nodes)),
				p.Rounds.Mean, p.Rounds.P50, p.Rounds.P99, p.Queries.Mean, p.Queries.P50, p.Queries.P99, p.Latency.P50, p.Latency.P99, pct(p.ExactK), pct(p.Found))
		}
	}
	if hasChurn(results) {
		b.WriteString("\nWith a share of the nodes failed without a word (they stay in tables until evicted):\n\n")
		b.WriteString("| N | failed | found (live target) | exact k (live) | rounds p50/p99 | queries p50/p99 | timeouts p50/p99 | latency p50/p99 |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		eachPhase(results, func(r ExperimentResult, p PhaseResult) {
			if p.Churn > 0 {
				fmt.Fprintf(&b, "| %d | %s | %s | %s | %d / %d | %d / %d | %d / %d | %d / %d ms |\n", r.Nodes, pct(p.Churn), pct(p.Found), pct(p.ExactK),
					p.Rounds.P50, p.Rounds.P99, p.Queries.P50, p.Queries.P99, p.Timeouts.P50, p.Timeouts.P99, p.Latency.P50, p.Latency.P99)
			}
		})
	}
	if hasSessions(results) {
		b.WriteString("\nWith nodes coming and going (Weibull session churn, measured after the warm-up while it goes on):\n\n")
		b.WriteString("| N | live at end | sessions ended / nodes back | found (live target) | exact k (live) | rounds p50/p99 | latency p50/p99 | timeouts mean / p50 / p99 | lookup errors |\n")
		b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		eachPhase(results, func(r ExperimentResult, p PhaseResult) {
			if p.Sessions {
				fmt.Fprintf(&b, "| %d | %s | %d / %d | %s | %s | %d / %d | %d / %d ms | %.2f / %d / %d | %d |\n", r.Nodes, pct(p.Live), p.Downs, p.Returns,
					pct(p.Found), pct(p.ExactK), p.Rounds.P50, p.Rounds.P99, p.Latency.P50, p.Latency.P99, p.Timeouts.Mean, p.Timeouts.P50, p.Timeouts.P99, p.Errors)
			}
		})
	}
	b.WriteString("\nCost of the network, per node:\n\n")
	b.WriteString("| N | heap per node | stacks per node | goroutines per node | queries to join | table size p50 | held by (min / p50) | own k nearest known (min / p50) | build time (wall) | build time (simulated) |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range results {
		s := r.Build
		stacks := "n/a" // not recorded by older runs
		if s.StackPerNode > 0 {
			stacks = fmt.Sprintf("%.1f KiB", s.StackPerNode/1024)
		}
		simulated := "n/a" // not recorded by runs in real time
		if s.Simulated > 0 {
			simulated = s.Simulated.Round(1e9).String()
		}
		fmt.Fprintf(&b, "| %d | %.0f KiB | %s | %.1f | %.0f | %d | %d / %d | %d / %d | %s | %s |\n", r.Nodes, s.HeapPerNode/1024, stacks, s.Goroutines,
			s.QueriesToJoin, s.TableSize.P50, s.InDegree.Min, s.InDegree.P50, s.Neighbours.Min, s.Neighbours.P50, s.Duration.Round(1e9), simulated)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r ExperimentResult) phase(churn float64) (PhaseResult, bool) {
	for _, p := range r.Phases {
		if p.Churn == churn {
			return p, true
		}
	}
	return PhaseResult{}, false
}

// eachPhase calls f on every phase of every result, in order.
func eachPhase(results []ExperimentResult, f func(ExperimentResult, PhaseResult)) {
	for _, r := range results {
		for _, p := range r.Phases {
			f(r, p)
		}
	}
}

func hasChurn(results []ExperimentResult) bool {
	found := false
	eachPhase(results, func(_ ExperimentResult, p PhaseResult) { found = found || p.Churn > 0 })
	return found
}

func hasSessions(results []ExperimentResult) bool {
	found := false
	eachPhase(results, func(_ ExperimentResult, p PhaseResult) { found = found || p.Sessions })
	return found
}

func pct(x float64) string {
	if x == 1 {
		return "100%"
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}
