package cli

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/kadnode/kadnode/node"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// Geometry of the bucket-fill picture: one bar per bucket index.
const (
	svgBuckets   = node.NumBuckets
	svgBarWidth  = 6
	svgBarHeight = 120 // a full bucket (k contacts)
	svgTop       = 14  // room above a full bar for the "k" label
	svgMargin    = 12  // room right of the last bar for its axis label
)

// statusPage is the server-rendered HTML page at "/".
type statusPage struct {
	node    controlNode
	network string
	k       int
	lookups *lookupLog
	now     func() time.Time
	values  func() node.ValueStats // nil: no values panel
}

type statusData struct {
	ID, Contact, Listen, External, Network string
	Uptime                                 string
	Joined                                 bool
	Contacts, Waiting, BucketsUsed, K      int
	SVGWidth, SVGHeight, Top, Baseline     int
	Bars                                   []statusBar
	Ticks                                  []statusTick
	Lookups                                []statusLookup
	Values                                 *statusValues
}

// statusBar is one bucket: the filled bar and, above it, the replacement cache.
type statusBar struct {
	X, Y, H, RY, RH int
	Title           string
}

type statusTick struct {
	X     int
	Label string
}

type statusLookup struct {
	Ago, Target, Duration string
	Found                 bool
	Closest, Queries      int
	Timeouts              int
}

func (p *statusPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := statusTemplate.Execute(&buf, p.data()); err != nil {
		http.Error(w, "rendering the status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (p *statusPage) data() statusData {
	now := p.now()
	self := p.node.Self()
	d := statusData{
		ID:        self.ID.String(),
		Contact:   contactOf(self),
		Listen:    addrString(self.Listen),
		External:  addrString(self.External),
		Network:   p.network,
		Uptime:    roundDuration(now.Sub(self.Started)),
		Joined:    self.Joined,
		K:         p.k,
		SVGWidth:  svgBuckets*svgBarWidth + svgMargin,
		SVGHeight: svgTop + svgBarHeight + 20,
		Top:       svgTop,
		Baseline:  svgTop + svgBarHeight,
	}
	if p.values != nil {
		d.Values = toStatusValues(p.values())
	}
	var live, waiting [svgBuckets]int
	for _, c := range p.node.Nodes() {
		if c.Bucket < 0 || c.Bucket >= svgBuckets {
			continue
		}
		if c.State == "replacement" {
			waiting[c.Bucket]++
			d.Waiting++
		} else {
			live[c.Bucket]++
			d.Contacts++
		}
	}
	for b := range svgBuckets {
		if live[b] > 0 {
			d.BucketsUsed++
		}
		if live[b] == 0 && waiting[b] == 0 {
			continue
		}
		h := scaled(live[b], p.k, svgBarHeight)
		rh := scaled(waiting[b], p.k, svgBarHeight)
		d.Bars = append(d.Bars, statusBar{
			X: b * svgBarWidth, Y: d.Baseline - h, H: h,
			RY: d.Baseline - h - rh, RH: rh,
			Title: fmt.Sprintf("bucket %d: %d of %d, %d waiting", b, live[b], p.k, waiting[b]),
		})
	}
	for _, b := range []int{0, 40, 80, 120, svgBuckets - 1} {
		d.Ticks = append(d.Ticks, statusTick{X: b*svgBarWidth + svgBarWidth/2, Label: fmt.Sprint(b)})
	}
	for _, l := range p.lookups.latest() {
		d.Lookups = append(d.Lookups, statusLookup{
			Ago:      roundDuration(now.Sub(l.At)) + " ago",
			Target:   l.Target,
			Found:    l.Found,
			Closest:  l.Closest,
			Queries:  l.Queries,
			Timeouts: l.Timeouts,
			Duration: roundDuration(l.Duration),
		})
	}
	return d
}

// scaled maps n of full onto px pixels, with at least 2 px for any n > 0 so
// that a single contact stays visible.
func scaled(n, full, px int) int {
	if n <= 0 || full <= 0 {
		return 0
	}
	h := n * px / full
	if h > px {
		h = px
	}
	return max(h, 2)
}

// roundDuration prints d with a precision a person wants at a glance.
func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}
