package cli

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kadnode/kadnode/store"
)

// storeHealthDescs are the metrics of the store's write state: whether
// changes are being saved, and how many were kept in memory only.
type storeHealthDescs struct {
	writable, failures, reopens, unsaved *prometheus.Desc
}

func newStoreHealthDescs(d func(name, help string, labels ...string) *prometheus.Desc) storeHealthDescs {
	return storeHealthDescs{
		writable: d("store_writable", "1 while the routing-table store saves changes, 0 while it has failed."),
		failures: d("store_failures_total", "Times the routing-table store failed (disk full or read-only, I/O error)."),
		reopens:  d("store_reopens_total", "Times a failed routing-table store was reopened and the table written back."),
		unsaved:  d("store_unsaved_changes_total", "Table changes the failed store refused: kept in memory only until it reopens."),
	}
}

func (s storeHealthDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.writable, s.failures, s.reopens, s.unsaved} {
		ch <- d
	}
}

func (s storeHealthDescs) collect(ch chan<- prometheus.Metric, h store.Health) {
	writable := 1.0
	if h.Err != nil {
		writable = 0
	}
	ch <- prometheus.MustNewConstMetric(s.writable, prometheus.GaugeValue, writable)
	ch <- prometheus.MustNewConstMetric(s.failures, prometheus.CounterValue, float64(h.Failures))
	ch <- prometheus.MustNewConstMetric(s.reopens, prometheus.CounterValue, float64(h.Reopens))
	ch <- prometheus.MustNewConstMetric(s.unsaved, prometheus.CounterValue, float64(h.Unsaved))
}
