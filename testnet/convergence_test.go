package testnet

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// A node's /metrics as the exposition format writes it, the parts the
// tally reads.
const sampleMetrics = `# TYPE kadnode_evictions_total counter
kadnode_evictions_total 2
# TYPE kadnode_handshakes_total counter
kadnode_handshakes_total{outcome="ok"} 297
kadnode_handshakes_total{outcome="timeout"} 3
kadnode_handshakes_total{outcome="cookie_sent"} 150
# TYPE kadnode_join_duration_seconds gauge
kadnode_join_duration_seconds 1.5
`

func TestConvergenceTallyAndVerdict(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(sampleMetrics))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := ReadMetrics(ctx, srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	v := NewConvergence()
	v.Add("seed", m, true)
	v.Add("a", m, false)
	v.Add("b", map[string]*dto.MetricFamily{}, false) // not joined: no join metric
	if got := v.TotalEvictions(); got != 4 {
		t.Errorf("evictions %v, want 4", got)
	}
	if got := v.TimeoutShare(); got != 0.01 {
		t.Errorf("timeout share %v, want 0.01", got)
	}
	if len(v.Joins) != 1 || v.Joins[0] != 1500*time.Millisecond {
		t.Errorf("joins %v, want [1.5s]", v.Joins)
	}
	problems := strings.Join(v.Problems(time.Second, 0.01), "; ")
	for _, want := range []string{"not joined: b", "slowest join took 1.5s", "4 live contacts evicted", "timeouts are 1.00%"} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems %q lack %q", problems, want)
		}
	}
	if p := NewConvergence().Problems(time.Second, 0.01); len(p) != 0 {
		t.Errorf("an empty network has problems: %v", p)
	}
}
