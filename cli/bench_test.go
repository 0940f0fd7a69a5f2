package cli

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
)

// BenchmarkMetricsScrape measures one /metrics scrape: snapshots, the
// collector, and the text encoding.
func BenchmarkMetricsScrape(b *testing.B) {
	h := promHandler(newRegistry(fixedSources(), newLookupLog(time.Now)))
	req := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		_, _ = io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkStatusPage measures rendering the status page of a node with
// 20 full buckets and the maximum of recent lookups.
func BenchmarkStatusPage(b *testing.B) {
	fn := newFakeNode(time.Now())
	fn.nodes = nil
	for bucket := 140; bucket < 160; bucket++ {
		for range node.DefaultK {
			fn.nodes = append(fn.nodes, node.ContactStatus{ID: testID(byte(bucket)), Addr: fn.peer.Addr, Bucket: bucket, State: "bucket"})
		}
	}
	for range recentLookupsKept {
		fn.lookups.observe(fn.lookup)
	}
	page := &statusPage{node: fn, network: "kadnode", k: node.DefaultK, lookups: fn.lookups, now: time.Now}
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		page.ServeHTTP(httptest.NewRecorder(), req)
	}
}
