package cli

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// statsSources are the snapshots the collector reads at scrape time.
type statsSources struct {
	node      func() node.Stats
	transport func() wire.Stats
	store     func() store.Stats
	health    func() store.Health // nil: no store health metrics
}

// statsCollector turns node, transport and store snapshots into metrics, so
// those packages keep plain counters and know nothing about Prometheus.
type statsCollector struct {
	src statsSources

	rpcsIn, rpcsOut   *prometheus.Desc
	handshakes        *prometheus.Desc
	resumed           *prometheus.Desc
	tickets           *prometheus.Desc
	prepared          *prometheus.Desc
	heldBeforeCCS     *prometheus.Desc
	liveSessions      *prometheus.Desc
	pendingHandshakes *prometheus.Desc
	bucketContacts    *prometheus.Desc
	tableContacts     *prometheus.Desc
	replacements      *prometheus.Desc
	evictions         *prometheus.Desc
	joinDuration      *prometheus.Desc
	storeWrites       *prometheus.Desc
	storeCoalesced    *prometheus.Desc
	storeErrors       *prometheus.Desc
	dropped           *prometheus.Desc
	storeHealth       storeHealthDescs
}

func newStatsCollector(src statsSources) *statsCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("kadnode_"+name, help, labels, nil)
	}
	return &statsCollector{
		src:               src,
		rpcsIn:            d("rpcs_in_total", "Inbound KRPC queries by method and outcome.", "method", "outcome"),
		rpcsOut:           d("rpcs_out_total", "Outbound KRPC queries by method and outcome.", "method", "outcome"),
		handshakes:        d("handshakes_total", "DTLS handshakes by outcome.", "outcome"),
		resumed:           d("handshakes_resumed_total", "DTLS handshakes that resumed a session; also counted in handshakes_total{outcome=\"ok\"}."),
		tickets:           d("resumption_tickets", "DTLS sessions kept so that a peer met within the last hour resumes with an abbreviated handshake, in either role."),
		prepared:          d("handshakes_prepared_total", "DTLS handshakes a lookup started ahead of a query, by whether a query then used the session.", "used"),
		heldBeforeCCS:     d("handshake_records_reordered_total", "DTLS handshake records that overtook the peer's ChangeCipherSpec on the path and waited for it."),
		liveSessions:      d("sessions_live", "Established DTLS sessions."),
		pendingHandshakes: d("handshakes_pending", "DTLS handshakes in progress."),
		bucketContacts:    d("bucket_contacts", "Contacts in each non-empty k-bucket.", "bucket"),
		tableContacts:     d("table_contacts", "Contacts in all k-buckets."),
		replacements:      d("replacement_cache_contacts", "Contacts waiting in the replacement caches."),
		evictions:         d("evictions_total", "Contacts evicted from k-buckets."),
		joinDuration:      d("join_duration_seconds", "Time from the node's start to the end of its own bootstrap; absent until joined."),
		storeWrites:       d("store_writes_total", "Batches committed to the routing-table store."),
		storeCoalesced:    d("store_coalesced_total", "Last-seen updates absorbed without a store write."),
		storeErrors:       d("store_errors_total", "Failed routing-table store writes."),
		dropped:           d("dropped_datagrams_total", "UDP datagrams dropped by reason.", "reason"),
		storeHealth:       newStoreHealthDescs(d),
	}
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.rpcsIn, c.rpcsOut, c.handshakes, c.resumed, c.tickets, c.prepared, c.heldBeforeCCS, c.liveSessions, c.pendingHandshakes,
		c.bucketContacts, c.tableContacts, c.replacements, c.evictions, c.joinDuration,
		c.storeWrites, c.storeCoalesced, c.storeErrors, c.dropped,
	} {
		ch <- d
	}
	c.storeHealth.describe(ch)
}

// Collect implements prometheus.Collector; it snapshots each source once.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ns := c.src.node()
	byMethodOutcome(ch, c.rpcsIn, ns.RPCsIn)
	byMethodOutcome(ch, c.rpcsOut, ns.RPCsOut)
	total := 0
	for b, n := range ns.BucketSizes {
		total += n
		if n > 0 {
			ch <- prometheus.MustNewConstMetric(c.bucketContacts, prometheus.GaugeValue, float64(n), strconv.Itoa(b))
		}
	}
	ch <- prometheus.MustNewConstMetric(c.tableContacts, prometheus.GaugeValue, float64(total))
	ch <- prometheus.MustNewConstMetric(c.replacements, prometheus.GaugeValue, float64(sum(ns.ReplacementSizes)))
	ch <- prometheus.MustNewConstMetric(c.evictions, prometheus.CounterValue, float64(ns.Evictions))
	if ns.Joined {
		ch <- prometheus.MustNewConstMetric(c.joinDuration, prometheus.GaugeValue, ns.JoinDuration.Seconds())
	}

	ts := c.src.transport()
	byLabel(ch, c.handshakes, ts.Handshakes)
	byLabel(ch, c.dropped, ts.Dropped)
	ch <- prometheus.MustNewConstMetric(c.resumed, prometheus.CounterValue, float64(ts.Resumed))
	ch <- prometheus.MustNewConstMetric(c.tickets, prometheus.GaugeValue, float64(ts.Tickets))
	ch <- prometheus.MustNewConstMetric(c.prepared, prometheus.CounterValue, float64(ts.PreparedUsed), "true")
	ch <- prometheus.MustNewConstMetric(c.prepared, prometheus.CounterValue, float64(ts.Prepared-ts.PreparedUsed), "false")
	ch <- prometheus.MustNewConstMetric(c.heldBeforeCCS, prometheus.CounterValue, float64(ts.HeldBeforeCCS))
	ch <- prometheus.MustNewConstMetric(c.liveSessions, prometheus.GaugeValue, float64(ts.LiveSessions))
	ch <- prometheus.MustNewConstMetric(c.pendingHandshakes, prometheus.GaugeValue, float64(ts.PendingHandshakes))

	ss := c.src.store()
	ch <- prometheus.MustNewConstMetric(c.storeWrites, prometheus.CounterValue, float64(ss.Writes))
	ch <- prometheus.MustNewConstMetric(c.storeCoalesced, prometheus.CounterValue, float64(ss.Coalesced))
	ch <- prometheus.MustNewConstMetric(c.storeErrors, prometheus.CounterValue, float64(ss.Errors))
	if c.src.health != nil {
		c.storeHealth.collect(ch, c.src.health())
	}
}

func byMethodOutcome(ch chan<- prometheus.Metric, d *prometheus.Desc, m map[string]map[string]uint64) {
	for _, method := range sortedKeys(m) {
		for _, outcome := range sortedKeys(m[method]) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(m[method][outcome]), method, outcome)
		}
	}
}

func byLabel(ch chan<- prometheus.Metric, d *prometheus.Desc, m map[string]uint64) {
	for _, k := range sortedKeys(m) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(m[k]), k)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

// newRegistry is the per-process registry behind /metrics: the stats
// collector, the lookup metrics, and the Go runtime and process collectors.
func newRegistry(src statsSources, lookups *lookupLog) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		newStatsCollector(src),
		newNATCollector(src.node),
		lookups.duration,
		lookups.results,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// promHandler serves reg in the Prometheus exposition formats.
func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
