package cli

import (
	"image/png"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/testnet"
)

// statusNetSize is the network whose node's status page is rendered: big
// enough to fill several buckets and a page of peers.
const statusNetSize = 20

// The status page of one node of a real 20-node network (DTLS over
// loopback, Pebble stores), rendered by headless Chromium: the DOM lists
// every peer of the node's table with its RTT, and the screenshot shows
// the bucket bars and the peers' state column drawn.
func TestStatusPageOfNetworkInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 20-node network and a browser")
	}
	browser := findChromium()
	if browser == "" {
		t.Skip("chromium is not installed (Debian: apt-get install chromium); skipping the browser test of the status page")
	}
	nw, err := testnet.New(testnet.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nw.Close() })
	ctx := t.Context()
	if err := nw.GrowConcurrently(ctx, statusNetSize, 4); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d nodes joined", statusNetSize)
	m := nw.Nodes()[0]
	nd, tr, st := m.Node(), m.Transport(), m.Store()
	lookups := newLookupLog(time.Now)
	for _, other := range nw.Nodes()[1:4] { // recent lookups, and RTTs
		res, err := nd.Lookup(ctx, other.ID)
		if err != nil {
			t.Fatal(err)
		}
		lookups.observe(res)
	}
	health := func() store.Health { return store.Health{Err: st.Err()} }
	src := statsSources{node: nd.Stats, transport: tr.Stats, store: st.Stats, health: health}
	ready := func() readyJSON { return readiness(nd, tr.LocalAddr().String(), health) }
	api := &controlAPI{node: nd, network: testnet.DefaultNetwork, now: time.Now, log: discardLogger(), ready: ready,
		status: &statusPage{node: nd, network: testnet.DefaultNetwork, k: node.DefaultK, lookups: lookups, now: time.Now,
			stats: src, ready: ready}}
	srv := httptest.NewServer(api.routes())
	t.Cleanup(srv.Close)

	peers := nd.Nodes()
	if len(peers) < statusNetSize/2 {
		t.Fatalf("node 0 holds %d contacts of a %d-node network", len(peers), statusNetSize)
	}
	dir := t.TempDir()
	t.Log("rendering")
	dom := runChromium(t, browser, dir, "--dump-dom", srv.URL+"/")
	rows := strings.Count(section(dom, `id="peers"`, "</table>"), "<tr>") - 1
	if rows != len(peers) {
		t.Errorf("the peers table has %d rows, the node holds %d contacts", rows, len(peers))
	}
	for _, p := range peers {
		if !strings.Contains(dom, p.ID.String()) || !strings.Contains(dom, p.Addr.String()) {
			t.Errorf("the page lacks peer %s at %s", p.ID, p.Addr)
		}
	}
	for _, want := range []string{`id="buckets"`, "live DTLS sessions", "queries in/s", "Reachability", " ms<",
		nw.Nodes()[1].ID.String() + "</td><td>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	t.Log("taking the screenshot")
	shot := filepath.Join(dir, "status.png")
	runChromium(t, browser, dir, "--screenshot="+shot, "--window-size=1200,2200", srv.URL+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	// Bars: the populated range is a few buckets, each drawn wide.
	if n := countColor(img, 0x25, 0x63, 0xeb); n < 2000 {
		t.Errorf("screenshot has %d pixels of the bar colour, want the bucket bars drawn", n)
	}
	// Peers: each good peer's state is written in green.
	if n := countColor(img, 0x17, 0x80, 0x3d); n < 30*len(peers) {
		t.Errorf("screenshot has %d pixels of the good-state green, want the %d peer rows drawn", n, len(peers))
	}
	if keep := os.Getenv("KADNODE_SCREENSHOT"); keep != "" {
		if data, err := os.ReadFile(shot); err == nil {
			_ = os.WriteFile(keep, data, 0o644)
		}
	}
}

// section is the part of s from the first from to the next to.
func section(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	part, _, _ := strings.Cut(rest, to)
	return part
}
