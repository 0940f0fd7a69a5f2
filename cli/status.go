package cli

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"time"

	"github.com/kadnode/kadnode/node"
)

//go:embed status.html
var statusHTML string

var statusTemplate = template.Must(template.New("status").Parse(statusHTML))

// Geometry of the bucket-fill picture: one bar per bucket of the populated
// range, as wide as the range leaves room for.
const (
	svgWidth       = 900 // bars area
	svgMinBar      = 6
	svgMaxBar      = 44
	svgBarHeight   = 120 // a full bucket (k contacts)
	svgTop         = 14  // room above a full bar for the "k" label
	svgMargin      = 12  // room right of the last bar for its axis label
	svgMaxTicks    = 8   // axis labels at most
	statusRefreshS = 5   // the page reloads itself every this many seconds
	statusMaxPeers = 500 // peers listed; the rest are counted
)

// statusPage is the server-rendered HTML page at "/".
type statusPage struct {
	node    controlNode
	network string
	k       int
	lookups *lookupLog
	now     func() time.Time
	stats   statsSources     // nil funcs leave their section out
	ready   func() readyJSON // nil leaves the health section out
	rates   rateMeter
	values  func() node.ValueStats // nil: no values panel
}

type statusData struct {
	ID, Contact, Listen, External, Network string
	Uptime                                 string
	Joined                                 bool
	Refresh                                int
	Reach                                  statusReach
	Health                                 []statusCheck
	Ready                                  bool
	HasHealth                              bool
	StoreNote                              string
	Traffic                                *statusTraffic
	Contacts, Waiting, BucketsUsed, K      int
	SVGWidth, SVGHeight, Top, Baseline     int
	BarWidth                               int
	FirstBucket, LastBucket                int
	Bars                                   []statusBar
	Ticks                                  []statusTick
	Peers                                  []statusPeer
	MorePeers                              int
	Lookups                                []statusLookup
	Values                                 *statusValues
}

// statusReach is what the node knows of how others reach it.
type statusReach struct {
	OK      bool
	Summary string
}

type statusCheck struct {
	Name, Reason string
	OK           bool
}

type statusTraffic struct {
	Sessions, Pending             int
	Handshakes, QueriesIn, Outs   string // per second
	HandshakesTotal, InTotal, Out uint64
	Window                        string
}

// statusBar is one bucket: the filled bar and, above it, the replacement cache.
type statusBar struct {
	X, Y, H, RY, RH, W int
	Title              string
}

type statusTick struct {
	X     int
	Label string
}

type statusPeer struct {
	ID, Addr, LastSeen, RTT, State string
	Bucket                         int
	Good                           bool
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
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (p *statusPage) data() statusData {
	now := p.now()
	self := p.node.Self()
	d := statusData{
		ID:       self.ID.String(),
		Contact:  contactOf(self),
		Listen:   addrString(self.Listen),
		External: addrString(self.External),
		Network:  p.network,
		Uptime:   roundDuration(now.Sub(self.Started)),
		Joined:   self.Joined,
		K:        p.k,
		Refresh:  statusRefreshS,
	}
	if p.values != nil {
		d.Values = toStatusValues(p.values())
	}
	nodes := p.node.Nodes()
	p.chart(&d, nodes)
	d.Peers, d.MorePeers = peerRows(nodes, now)
	var ns *node.Stats
	if p.stats.node != nil {
		s := p.stats.node()
		ns = &s
	}
	d.Reach = reachability(self, ns)
	if p.ready != nil {
		rd := p.ready()
		d.HasHealth, d.Ready = true, rd.Ready
		for _, name := range sortedKeys(rd.Checks) {
			c := rd.Checks[name]
			d.Health = append(d.Health, statusCheck{Name: name, OK: c.OK, Reason: c.Reason})
		}
	}
	if p.stats.health != nil {
		if h := p.stats.health(); h.Err != nil {
			d.StoreNote = fmt.Sprintf("The store has failed since %s: %d table changes are in memory only. "+
				"It is reopened, and the table written back, once the disk takes writes again.",
				h.Since.Format(time.TimeOnly), h.Unsaved)
		}
	}
	if ns != nil && p.stats.transport != nil {
		d.Traffic = p.traffic(now, self.Started, *ns)
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

// chart draws the buckets from the nearest to the farthest populated one.
func (p *statusPage) chart(d *statusData, nodes []node.ContactStatus) {
	var live, waiting [node.NumBuckets]int
	lo, hi := node.NumBuckets, -1
	for _, c := range nodes {
		if c.Bucket < 0 || c.Bucket >= node.NumBuckets {
			continue
		}
		lo, hi = min(lo, c.Bucket), max(hi, c.Bucket)
		if c.State == "replacement" {
			waiting[c.Bucket]++
			d.Waiting++
		} else {
			live[c.Bucket]++
			d.Contacts++
		}
	}
	if hi < 0 {
		return
	}
	n := hi - lo + 1
	d.FirstBucket, d.LastBucket = lo, hi
	d.BarWidth = min(max(svgWidth/n, svgMinBar), svgMaxBar)
	d.SVGWidth = n*d.BarWidth + svgMargin
	d.SVGHeight = svgTop + svgBarHeight + 20
	d.Top, d.Baseline = svgTop, svgTop+svgBarHeight
	for b := lo; b <= hi; b++ {
		if live[b] > 0 {
			d.BucketsUsed++
		}
		if live[b] == 0 && waiting[b] == 0 {
			continue
		}
		h := scaled(live[b], p.k, svgBarHeight)
		rh := scaled(waiting[b], p.k, svgBarHeight)
		d.Bars = append(d.Bars, statusBar{
			X: (b - lo) * d.BarWidth, Y: d.Baseline - h, H: h, W: max(d.BarWidth-1, 1),
			RY: d.Baseline - h - rh, RH: rh,
			Title: fmt.Sprintf("bucket %d: %d of %d, %d waiting", b, live[b], p.k, waiting[b]),
		})
	}
	step := max((n+svgMaxTicks-1)/svgMaxTicks, 1)
	for b := lo; b <= hi; b += step {
		d.Ticks = append(d.Ticks, statusTick{X: (b-lo)*d.BarWidth + d.BarWidth/2, Label: fmt.Sprint(b)})
	}
	if (hi-lo)%step != 0 {
		d.Ticks = append(d.Ticks, statusTick{X: (hi-lo)*d.BarWidth + d.BarWidth/2, Label: fmt.Sprint(hi)})
	}
}

// peerRows lists the table, farthest buckets first and, within one, the
// most recently seen first.
func peerRows(nodes []node.ContactStatus, now time.Time) ([]statusPeer, int) {
	sorted := append([]node.ContactStatus(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Bucket != sorted[j].Bucket {
			return sorted[i].Bucket > sorted[j].Bucket
		}
		return sorted[i].LastSeen.After(sorted[j].LastSeen)
	})
	more := max(len(sorted)-statusMaxPeers, 0)
	sorted = sorted[:len(sorted)-more]
	rows := make([]statusPeer, 0, len(sorted))
	for _, c := range sorted {
		row := statusPeer{ID: c.ID.String(), Addr: c.Addr.String(), Bucket: c.Bucket, LastSeen: "never", RTT: "–",
			State: c.State, Good: c.State == "bucket" && c.Failures == 0}
		if !c.LastSeen.IsZero() {
			row.LastSeen = roundDuration(now.Sub(c.LastSeen).Truncate(time.Second)) + " ago"
		}
		if c.RTT > 0 {
			row.RTT = fmt.Sprintf("%.1f ms", millis(c.RTT))
		}
		if c.Failures > 0 {
			row.State += fmt.Sprintf(", %d failed", c.Failures)
		}
		rows = append(rows, row)
	}
	return rows, more
}

// reachability sums up what the node knows today of how others reach it.
func reachability(self node.SelfInfo, ns *node.Stats) statusReach {
	var answered uint64
	if ns != nil {
		for _, byOutcome := range ns.RPCsIn {
			answered += byOutcome[outcomeOKLabel]
		}
	}
	switch {
	case answered > 0 && self.External.IsValid():
		return statusReach{OK: true, Summary: fmt.Sprintf("reachable: peers see this node at %s and %d of their queries were answered", self.External, answered)}
	case answered > 0:
		return statusReach{OK: true, Summary: fmt.Sprintf("reachable: %d queries from peers answered; external address not agreed yet", answered)}
	case self.External.IsValid():
		return statusReach{Summary: fmt.Sprintf("unknown: peers see this node at %s, but none has queried it yet", self.External)}
	default:
		return statusReach{Summary: "unknown: no peer has queried this node yet"}
	}
}

// outcomeOKLabel is the node's RPC outcome label of an answered query.
const outcomeOKLabel = "ok"

// traffic is the live-session count and the rates since the last sample.
func (p *statusPage) traffic(now, started time.Time, ns node.Stats) *statusTraffic {
	ts := p.stats.transport()
	cur := rateSample{at: now, handshakes: sumMap(ts.Handshakes), in: sumNested(ns.RPCsIn), out: sumNested(ns.RPCsOut)}
	base := p.rates.advance(cur, started)
	secs := cur.at.Sub(base.at).Seconds()
	rate := func(a, b uint64) string {
		if secs <= 0 || a < b {
			return "–"
		}
		return fmt.Sprintf("%.1f", float64(a-b)/secs)
	}
	return &statusTraffic{
		Sessions: ts.LiveSessions, Pending: ts.PendingHandshakes,
		Handshakes: rate(cur.handshakes, base.handshakes), QueriesIn: rate(cur.in, base.in), Outs: rate(cur.out, base.out),
		HandshakesTotal: cur.handshakes, InTotal: cur.in, Out: cur.out,
		Window: roundDuration(cur.at.Sub(base.at).Truncate(time.Second)),
	}
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
