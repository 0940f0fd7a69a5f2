package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kadnode/kadnode/node"
)

// gathered indexes gathered metrics by name and label values ("a=b,c=d").
func gathered(t *testing.T, g prometheus.Gatherer) map[string]map[string]*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]map[string]*dto.Metric{}
	for _, mf := range mfs {
		byLabels := map[string]*dto.Metric{}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, lp := range m.GetLabel() {
				parts = append(parts, lp.GetName()+"="+lp.GetValue())
			}
			byLabels[strings.Join(parts, ",")] = m
		}
		out[mf.GetName()] = byLabels
	}
	return out
}

func TestStatsCollectorReadsSnapshots(t *testing.T) {
	// The pedantic registry also checks that Collect matches Describe.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(newStatsCollector(fixedSources()))
	got := gathered(t, reg)

	for _, tc := range []struct {
		name, labels string
		value        float64
	}{
		{"kadnode_rpcs_in_total", "method=find_node,outcome=ok", 7},
		{"kadnode_rpcs_in_total", "method=find_node,outcome=invalid", 1},
		{"kadnode_rpcs_in_total", "method=ping,outcome=ok", 3},
		{"kadnode_rpcs_out_total", "method=find_node,outcome=timeout", 2},
		{"kadnode_handshakes_total", "outcome=ok", 9},
		{"kadnode_handshakes_total", "outcome=network_mismatch", 1},
		{"kadnode_handshakes_resumed_total", "", 6},
		{"kadnode_resumption_tickets", "", 12},
		{"kadnode_handshakes_prepared_total", "used=true", 3},
		{"kadnode_handshakes_prepared_total", "used=false", 2},
		{"kadnode_handshake_records_reordered_total", "", 2},
		{"kadnode_sessions_live", "", 4},
		{"kadnode_handshakes_pending", "", 1},
		{"kadnode_bucket_contacts", "bucket=2", 3},
		{"kadnode_bucket_contacts", "bucket=3", 20},
		{"kadnode_table_contacts", "", 23},
		{"kadnode_replacement_cache_contacts", "", 4},
		{"kadnode_evictions_total", "", 2},
		{"kadnode_store_writes_total", "", 11},
		{"kadnode_store_coalesced_total", "", 40},
		{"kadnode_store_errors_total", "", 0},
		{"kadnode_dropped_datagrams_total", "reason=queue_full", 3},
		{"kadnode_dropped_datagrams_total", "reason=garbage", 5},
	} {
		m := got[tc.name][tc.labels]
		if m == nil {
			t.Errorf("%s{%s} missing", tc.name, tc.labels)
			continue
		}
		v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
		if v != tc.value {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.labels, v, tc.value)
		}
	}
	if m := got["kadnode_bucket_contacts"]["bucket=0"]; m != nil {
		t.Errorf("empty bucket 0 exported: %v", m)
	}
}

func TestLookupMetricsAndRecentList(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l := newLookupLog(func() time.Time { return now })
	for i := range recentLookupsKept + 3 {
		l.observe(node.LookupResult{
			Target: testID(byte(i)),
			Found:  i%2 == 0,
			Stats:  node.LookupStats{Duration: time.Duration(i+1) * time.Millisecond, Queries: i},
		})
	}
	reg := newRegistry(fixedSources(), l)
	got := gathered(t, reg)
	h := got["kadnode_lookup_duration_seconds"][""].GetHistogram()
	if h.GetSampleCount() != recentLookupsKept+3 {
		t.Errorf("histogram count = %d, want %d", h.GetSampleCount(), recentLookupsKept+3)
	}
	if found := got["kadnode_lookups_total"]["result=found"].GetCounter().GetValue(); found != 9 {
		t.Errorf("found lookups = %v, want 9", found)
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing")
	}

	recent := l.latest()
	if len(recent) != recentLookupsKept {
		t.Fatalf("kept %d lookups, want %d", len(recent), recentLookupsKept)
	}
	if newest := recent[0]; newest.Target != testID(recentLookupsKept+2).String() || newest.Queries != recentLookupsKept+2 {
		t.Errorf("newest = %+v", newest)
	}
	if oldest := recent[len(recent)-1]; oldest.Target != testID(3).String() {
		t.Errorf("oldest kept = %+v, want target %s", oldest, testID(3))
	}
}

func TestMetricsEndpointServesText(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), "")
	status, body := request(t, "GET", "http://"+addr+"/metrics", "")
	if status != 200 {
		t.Fatalf("/metrics = %d", status)
	}
	for _, want := range []string{
		`kadnode_rpcs_in_total{method="find_node",outcome="ok"} 7`,
		`kadnode_dropped_datagrams_total{reason="garbage"} 5`,
		"# TYPE kadnode_lookup_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
