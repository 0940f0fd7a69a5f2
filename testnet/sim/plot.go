package sim

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// series is one line of a panel.
type series struct {
	name  string
	color string
	dash  bool
	ys    []float64
}

// WritePlot draws three panels as SVG: lookup rounds, lookup queries and
// lookup latency against N on a log axis, each with mean, p50 and p99.
// Rounds and queries get a least-squares fit of the means in log2 N
// (c·log2 N for rounds, a + b·log2 N for queries), so the reference line
// has the shape of log2 N and the scale of the data; latency gets the
// published Mainline DHT medians for comparison.
func WritePlot(w io.Writer, results []ExperimentResult) error {
	var ns, rMean, r50, r99, qMean, q50, q99, lMean, l50, l99, ref1, ref2 []float64
	for _, r := range results {
		p, ok := r.phase(0)
		if !ok {
			continue
		}
		ns = append(ns, float64(r.Nodes))
		rMean = append(rMean, p.Rounds.Mean)
		qMean = append(qMean, p.Queries.Mean)
		r50 = append(r50, float64(p.Rounds.P50))
		r99 = append(r99, float64(p.Rounds.P99))
		q50 = append(q50, float64(p.Queries.P50))
		q99 = append(q99, float64(p.Queries.P99))
		lMean = append(lMean, p.Latency.Mean)
		l50 = append(l50, float64(p.Latency.P50))
		l99 = append(l99, float64(p.Latency.P99))
		ref1 = append(ref1, mainlineMedianLow)
		ref2 = append(ref2, mainlineMedianHigh)
	}
	if len(ns) == 0 {
		return fmt.Errorf("sim: no churn-free results to plot")
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotWidth, plotHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotWidth, plotHeight)
	rFit, rc := fitLog2(ns, rMean)
	// Every lookup queries at least the k closest, so queries are k plus
	// a part that grows with log N: fit a + b·log2 N.
	qFit, qa, qb := fitAffineLog2(ns, qMean)
	panel(&b, 0, "Lookup rounds", ns, []series{
		{"mean", "#1f77b4", false, rMean}, {"p50", "#9ecae1", false, r50}, {"p99", "#1f77b4", true, r99},
		{fmt.Sprintf("%.2f·log2 N (fit to mean)", rc), "#888888", true, rFit},
	})
	panel(&b, plotWidth/3, "Lookup queries (messages sent)", ns, []series{
		{"mean", "#d62728", false, qMean}, {"p50", "#fc9272", false, q50}, {"p99", "#d62728", true, q99},
		{fmt.Sprintf("%.1f + %.2f·log2 N (fit to mean)", qa, qb), "#888888", true, qFit},
	})
	panel(&b, 2*plotWidth/3, "Lookup latency, ms (simulated)", ns, []series{
		{"mean", "#2ca02c", false, lMean}, {"p50", "#a1d99b", false, l50}, {"p99", "#2ca02c", true, l99},
		{"Mainline median 100–200 ms (Jimenez et al.)", "#888888", true, ref2}, {"", "#888888", true, ref1},
	})
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// fitLog2 returns c·log2(n) for each n, and c, fitted to ys by least
// squares through the origin.
func fitLog2(ns, ys []float64) ([]float64, float64) {
	var num, den float64
	for i, n := range ns {
		l := math.Log2(n)
		num += l * ys[i]
		den += l * l
	}
	c := num / den
	out := make([]float64, len(ns))
	for i, n := range ns {
		out[i] = c * math.Log2(n)
	}
	return out, c
}

// fitAffineLog2 returns a + b·log2(n) for each n, and a and b, fitted to
// ys by least squares; with one point it is the constant.
func fitAffineLog2(ns, ys []float64) ([]float64, float64, float64) {
	var sx, sy, sxx, sxy float64
	for i, n := range ns {
		x := math.Log2(n)
		sx, sy, sxx, sxy = sx+x, sy+ys[i], sxx+x*x, sxy+x*ys[i]
	}
	m := float64(len(ns))
	var a, b float64
	if d := m*sxx - sx*sx; d != 0 {
		b = (m*sxy - sx*sy) / d
	}
	a = (sy - b*sx) / m
	out := make([]float64, len(ns))
	for i, n := range ns {
		out[i] = a + b*math.Log2(n)
	}
	return out, a, b
}

// panel draws one chart at horizontal offset x0.
func panel(b *strings.Builder, x0 int, title string, ns []float64, ss []series) {
	const left, right, top, bottom = 55, 20, 40, 50
	w, h := plotWidth/3-left-right, plotHeight-top-bottom
	lx0, lx1 := math.Log10(ns[0])-0.15, math.Log10(ns[len(ns)-1])+0.15
	ymax := 0.0
	for _, s := range ss {
		for _, y := range s.ys {
			ymax = math.Max(ymax, y)
		}
	}
	step := niceCeil(ymax * 1.1 / yTicks)
	ymax = step * yTicks
	px := func(n float64) float64 { return float64(x0+left) + (math.Log10(n)-lx0)/(lx1-lx0)*float64(w) }
	py := func(y float64) float64 { return float64(top+h) - y/ymax*float64(h) }

	fmt.Fprintf(b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", x0+left, title)
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#000"/>`+"\n", x0+left, top, w, h)
	for i := 0; i <= yTicks; i++ {
		y := step * float64(i)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0+left, x0+left+w, py(y), py(y))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", x0+left-5, py(y)+4, trimFloat(y))
	}
	for d := math.Ceil(lx0); d <= lx1; d++ {
		n := math.Pow(10, d)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>`+"\n", px(n), px(n), top, top+h)
	}
	for _, n := range ns {
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(n), top+h+16, trimFloat(n))
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">nodes N (log scale)</text>`+"\n", x0+left+w/2, top+h+34)
	for i, s := range ss {
		var pts []string
		for j, n := range ns {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(n), py(s.ys[j])))
		}
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="6,4"`
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
		}
		if s.name == "" {
			continue // a second line of the series above: no legend entry
		}
		ly := top + 14 + 16*i
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", x0+left+8, x0+left+32, ly, ly, s.color, dash)
		fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", x0+left+38, ly+4, s.name)
	}
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
