package testnet

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kadnode/kadnode/testnet/stats"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Convergence gathers what a network with no fault must show, from every
// node's /metrics: how long each join took, how handshakes ended and how
// many contacts were evicted. Nothing is faulty, so every eviction is a
// false one.
type Convergence struct {
	Joins      []time.Duration    // of every node that joined through others
	NotJoined  []string           // names of the nodes that have not
	Handshakes map[string]float64 // by outcome, summed over the nodes
	Evictions  map[string]float64 // by node name
}

// NewConvergence is an empty tally.
func NewConvergence() *Convergence {
	return &Convergence{Handshakes: map[string]float64{}, Evictions: map[string]float64{}}
}

// Add counts one node's metrics. A first node (no seed) has no join to
// time.
func (v *Convergence) Add(name string, m map[string]*dto.MetricFamily, firstNode bool) {
	for _, h := range m["kadnode_handshakes_total"].GetMetric() {
		v.Handshakes[metricLabel(h, "outcome")] += h.GetCounter().GetValue()
	}
	if e, ok := m["kadnode_evictions_total"]; ok {
		v.Evictions[name] = metricValue(e)
	}
	if firstNode {
		return
	}
	if j, ok := m["kadnode_join_duration_seconds"]; ok {
		v.Joins = append(v.Joins, time.Duration(metricValue(j)*float64(time.Second)))
	} else {
		v.NotJoined = append(v.NotJoined, name)
	}
}

// TotalEvictions sums the evictions of every node.
func (v *Convergence) TotalEvictions() float64 {
	t := 0.0
	for _, e := range v.Evictions {
		t += e
	}
	return t
}

// TimeoutShare is handshake timeouts over every finished handshake. A
// stateless cookie the mux sent is no handshake: the one that follows it
// is counted when it ends.
func (v *Convergence) TimeoutShare() float64 {
	all := 0.0
	for outcome, n := range v.Handshakes {
		if outcome != "cookie_sent" {
			all += n
		}
	}
	if all == 0 {
		return 0
	}
	return v.Handshakes["timeout"] / all
}

func (v *Convergence) String() string {
	var b strings.Builder
	if len(v.Joins) > 0 {
		p := stats.Percentiles(v.Joins, 50, 99, 100)
		fmt.Fprintf(&b, "join time p50 %v, p99 %v, max %v (%d nodes); ",
			p[0].Round(time.Millisecond), p[1].Round(time.Millisecond), p[2].Round(time.Millisecond), len(v.Joins))
	}
	var outcomes []string
	for _, k := range slices.Sorted(maps.Keys(v.Handshakes)) {
		if v.Handshakes[k] > 0 {
			outcomes = append(outcomes, fmt.Sprintf("%s %.0f", k, v.Handshakes[k]))
		}
	}
	fmt.Fprintf(&b, "handshakes: %s (timeouts %.2f%%); evictions %.0f",
		strings.Join(outcomes, ", "), 100*v.TimeoutShare(), v.TotalEvictions())
	return b.String()
}

// Problems lists what keeps the network from counting as converged: a
// node not joined, a join slower than maxJoin, any eviction, handshake
// timeouts at maxTimeoutShare or more.
func (v *Convergence) Problems(maxJoin time.Duration, maxTimeoutShare float64) []string {
	var problems []string
	if len(v.NotJoined) > 0 {
		problems = append(problems, "not joined: "+strings.Join(slices.Sorted(slices.Values(v.NotJoined)), ", "))
	}
	if len(v.Joins) > 0 {
		if slowest := slices.Max(v.Joins); slowest > maxJoin {
			problems = append(problems, fmt.Sprintf("the slowest join took %v, over %v", slowest.Round(time.Millisecond), maxJoin))
		}
	}
	if e := v.TotalEvictions(); e > 0 {
		var who []string
		for _, s := range slices.Sorted(maps.Keys(v.Evictions)) {
			if v.Evictions[s] > 0 {
				who = append(who, fmt.Sprintf("%s %.0f", s, v.Evictions[s]))
			}
		}
		problems = append(problems, fmt.Sprintf("%.0f live contacts evicted (%s)", e, strings.Join(who, ", ")))
	}
	if share := v.TimeoutShare(); share >= maxTimeoutShare {
		problems = append(problems, fmt.Sprintf("handshake timeouts are %.2f%% of handshakes, want under %.1f%%", 100*share, 100*maxTimeoutShare))
	}
	return problems
}

// ReadMetrics fetches (with Get) and parses a node's /metrics at url.
func ReadMetrics(ctx context.Context, client *http.Client, url string) (map[string]*dto.MetricFamily, error) {
	resp, err := Get(ctx, client, url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return m, nil
}

func metricLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// metricValue is the single sample of a counter or gauge family.
func metricValue(f *dto.MetricFamily) float64 {
	if f == nil || len(f.GetMetric()) == 0 {
		return math.NaN()
	}
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}
