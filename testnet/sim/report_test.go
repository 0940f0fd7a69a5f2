package sim

import (
	"bytes"
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

func sampleResults() []ExperimentResult {
	mk := func(n, r50, r99, q50, q99 int) ExperimentResult {
		return ExperimentResult{Nodes: n, Phases: []PhaseResult{
			{Rounds: Summary{P50: r50, P99: r99, Mean: float64(r50)}, Queries: Summary{P50: q50, P99: q99, Mean: float64(q50)},
				Latency: Summary{P50: 100 * r50, P99: 100 * r99, Mean: float64(100 * r50)}, ExactK: 1, Found: 1},
			{Churn: 0.3, Found: 0.97, ExactK: 0.2},
			{Sessions: true, Live: 0.6, Downs: 40, Returns: 10, Found: 0.95, Timeouts: Summary{P50: 2, P99: 9, Mean: 2.5}},
		}}
	}
	return []ExperimentResult{mk(1000, 3, 5, 23, 30), mk(10000, 4, 6, 27, 36)}
}

func TestPlotIsSVGWithBothPanelsAndReference(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b.Bytes(), new(struct{})); err != nil {
		t.Fatalf("plot is not well-formed XML: %v", err)
	}
	s := b.String()
	for _, want := range []string{"Lookup rounds", "Lookup queries", "Lookup latency", "Mainline", "·log2 N", "p99", "mean", "log scale"} {
		if !strings.Contains(s, want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	// Two panels × four series, and latency's three with two reference lines.
	if n := strings.Count(s, "<polyline"); n != 13 {
		t.Errorf("%d lines, want 13", n)
	}
}

func TestPlotNeedsChurnFreeResults(t *testing.T) {
	if err := WritePlot(new(bytes.Buffer), nil); err == nil {
		t.Error("empty results plotted without an error")
	}
}

func TestMarkdownHasOneRowPerSizeAndChurn(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{"| 1000 | 10.0 | 3.00 | 3 | 5 | 23.0 | 23 | 30 | 300 ms | 500 ms | 100% | 100% |", "| 10000 | 30.0% | 97.0% | 20.0% |",
		"| 10000 | 60.0% | 40 / 10 | 95.0% |"} {
		if !strings.Contains(s, want) {
			t.Errorf("markdown lacks row %q:\n%s", want, s)
		}
	}
}

func TestFitLog2PassesThroughExactData(t *testing.T) {
	ns := []float64{1024, 4096, 65536}
	got, c := fitLog2(ns, []float64{5, 6, 8}) // exactly log2(N)/2
	if math.Abs(c-0.5) > 1e-9 {
		t.Errorf("c = %v, want 0.5", c)
	}
	for i, n := range ns {
		if math.Abs(got[i]-math.Log2(n)/2) > 1e-9 {
			t.Errorf("fit at %v = %v, want %v", n, got[i], math.Log2(n)/2)
		}
	}
}

func TestFitAffineLog2(t *testing.T) {
	ns := []float64{1024, 4096, 65536}
	_, a, b := fitAffineLog2(ns, []float64{25, 26, 28}) // 20 + log2(N)/2
	if math.Abs(a-20) > 1e-9 || math.Abs(b-0.5) > 1e-9 {
		t.Errorf("a, b = %v, %v; want 20, 0.5", a, b)
	}
	if got, a, b := fitAffineLog2([]float64{1000}, []float64{23}); got[0] != 23 || a != 23 || b != 0 {
		t.Errorf("one point: %v, a=%v b=%v; want the constant 23", got, a, b)
	}
}

func TestSummarizeNearestRank(t *testing.T) {
	xs := make([]int, 100)
	for i := range xs {
		xs[i] = 100 - i // 1..100, reversed
	}
	s := summarize(xs)
	if s.Min != 1 || s.P50 != 50 || s.P99 != 99 || s.Max != 100 || s.Mean != 50.5 {
		t.Errorf("summary = %+v, want min 1, p50 50, p99 99, max 100, mean 50.5", s)
	}
	if got := summarize([]int{7}); got.P50 != 7 || got.P99 != 7 {
		t.Errorf("one value: %+v", got)
	}
	if got := summarize(nil); got != (Summary{}) {
		t.Errorf("no values: %+v, want zero", got)
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0.7: 1, 3.3: 5, 11: 20, 45: 50, 51: 100} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
