package cli

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kadnode/kadnode/node"
)

// lookupLog records every lookup the node runs (operators' and its own
// refreshes): a duration histogram and result counter for /metrics and the
// most recent ones for the status page. The node calls observe from its
// lookup goroutines, so it is safe for concurrent use.
type lookupLog struct {
	now      func() time.Time
	duration prometheus.Histogram
	results  *prometheus.CounterVec

	mu     sync.Mutex
	recent []recentLookup // newest last, at most recentLookupsKept
}

// recentLookup is one row of the status page's lookup list.
type recentLookup struct {
	At       time.Time
	Target   string
	Found    bool
	Closest  int
	Queries  int
	Timeouts int
	Duration time.Duration
}

func newLookupLog(now func() time.Time) *lookupLog {
	return &lookupLog{
		now: now,
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kadnode_lookup_duration_seconds",
			Help:    "Duration of iterative lookups.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … 8 s
		}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kadnode_lookups_total",
			Help: "Iterative lookups by result.",
		}, []string{"result"}),
	}
}

// observe is the node's Config.OnLookup.
func (l *lookupLog) observe(r node.LookupResult) {
	l.duration.Observe(r.Stats.Duration.Seconds())
	result := "not_found"
	if r.Found {
		result = "found"
	}
	l.results.WithLabelValues(result).Inc()

	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recent) == recentLookupsKept {
		l.recent = append(l.recent[:0], l.recent[1:]...)
	}
	l.recent = append(l.recent, recentLookup{
		At:       l.now(),
		Target:   r.Target.String(),
		Found:    r.Found,
		Closest:  len(r.Closest),
		Queries:  r.Stats.Queries,
		Timeouts: r.Stats.Timeouts,
		Duration: r.Stats.Duration,
	})
}

// latest returns the recent lookups, newest first.
func (l *lookupLog) latest() []recentLookup {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]recentLookup, len(l.recent))
	for i, r := range l.recent {
		out[len(out)-1-i] = r
	}
	return out
}
