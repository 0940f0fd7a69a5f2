package cli

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/store"
	"github.com/kadnode/kadnode/wire"
)

// cliResult is what one in-process run of the command line produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command line in this process with args (without the
// program name).
func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runApp(append([]string{"kadnode"}, args...), &out, &errOut)
	return cliResult{code: code, stdout: out.String(), stderr: errOut.String()}
}

// wantExit fails the test unless r exited with code and its stderr
// contains every fragment.
func wantExit(t *testing.T, r cliResult, code int, fragments ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			t.Errorf("stderr lacks %q:\n%s", f, r.stderr)
		}
	}
}

// testID makes a node ID whose first byte is b and the rest zero.
func testID(b byte) krpc.ID {
	var id krpc.ID
	id[0] = b
	return id
}

// fakeNode is a controlNode with canned answers, for the API handlers.
type fakeNode struct {
	self      node.SelfInfo
	nodes     []node.ContactStatus
	lookup    node.LookupResult
	lookupErr error
	peer      kad.Peer
	rtt       time.Duration
	pingErr   error
	lookups   *lookupLog // feeds the status page and /metrics

	mu       sync.Mutex
	storeErr error // the fake store's failure; nil while it saves
	targets  []krpc.ID
	pinged   []kad.Endpoint
	added    []kad.Endpoint
}

func newFakeNode(now time.Time) *fakeNode {
	self := testID(0x11)
	a := netip.MustParseAddrPort("127.0.0.1:4201")
	return &fakeNode{
		self: node.SelfInfo{
			ID:      self,
			Contact: kad.EndpointString(self, netip.MustParseAddrPort("127.0.0.1:4114")),
			Listen:  netip.MustParseAddrPort("127.0.0.1:4114"),
			Started: now.Add(-90 * time.Minute),
			Joined:  true,
		},
		nodes: []node.ContactStatus{
			{ID: testID(0x91), Addr: a, Bucket: 159, LastSeen: now.Add(-time.Minute), State: "bucket"},
			{ID: testID(0x21), Addr: netip.MustParseAddrPort("127.0.0.1:4202"), Bucket: 157, LastSeen: now.Add(-2 * time.Minute), State: "bucket"},
			{ID: testID(0x92), Addr: netip.MustParseAddrPort("127.0.0.1:4203"), Bucket: 159, LastSeen: now.Add(-3 * time.Minute), State: "replacement"},
		},
		lookup: node.LookupResult{
			Target: testID(0x91),
			Found:  true,
			Addr:   a,
			Closest: []node.Responder{
				{ID: testID(0x91), Addr: a, RTT: 1500 * time.Microsecond},
				{ID: testID(0x90), Addr: netip.MustParseAddrPort("127.0.0.1:4204"), RTT: 2 * time.Millisecond},
			},
			Stats: node.LookupStats{Queries: 6, Responses: 5, Timeouts: 1, Rounds: 2, Duration: 12 * time.Millisecond},
		},
		peer:    kad.Peer{ID: testID(0x91), Addr: a},
		rtt:     1200 * time.Microsecond,
		lookups: newLookupLog(func() time.Time { return now }),
	}
}

func (f *fakeNode) Self() node.SelfInfo { return f.self }
func (f *fakeNode) Offline() bool       { return false }

// storeHealth is the fake node's store: failed while storeErr is set.
func (f *fakeNode) storeHealth() store.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.storeErr == nil {
		return store.Health{}
	}
	return store.Health{Err: f.storeErr, Since: f.self.Started.Add(time.Hour), Failures: 1, Unsaved: 7}
}
func (f *fakeNode) Nodes() []node.ContactStatus { return f.nodes }

func (f *fakeNode) Lookup(ctx context.Context, target krpc.ID) (node.LookupResult, error) {
	f.mu.Lock()
	f.targets = append(f.targets, target)
	f.mu.Unlock()
	r := f.lookup
	r.Target = target
	return r, f.lookupErr
}

func (f *fakeNode) Ping(ctx context.Context, c kad.Endpoint) (kad.Peer, time.Duration, error) {
	f.mu.Lock()
	f.pinged = append(f.pinged, c)
	f.mu.Unlock()
	return f.peer, f.rtt, f.pingErr
}

func (f *fakeNode) Add(ctx context.Context, c kad.Endpoint) (kad.Peer, error) {
	f.mu.Lock()
	f.added = append(f.added, c)
	f.mu.Unlock()
	if f.pingErr != nil {
		return kad.Peer{}, f.pingErr
	}
	return f.peer, nil
}

var errFakeUnreachable = errors.New("no answer from 127.0.0.1:4201")

// startFakeAPI serves the control API of fn on a loopback port and returns
// its host:port.
func startFakeAPI(t *testing.T, fn *fakeNode, token string) string {
	t.Helper()
	now := func() time.Time { return fn.self.Started.Add(90 * time.Minute) }
	lookups := fn.lookups
	src := fixedSources()
	src.health = fn.storeHealth
	ready := func() readyJSON { return readiness(fn, "127.0.0.1:4114", fn.storeHealth) }
	api := &controlAPI{
		node:    fn,
		network: "kadnode",
		token:   token,
		now:     now,
		metrics: promHandler(newRegistry(src, lookups)),
		status:  &statusPage{node: fn, network: "kadnode", k: 20, lookups: lookups, now: now, stats: src, ready: ready},
		log:     discardLogger(),
		ready:   ready,
		persist: func() error { return fn.storeHealth().Err },
	}
	srv := httptest.NewServer(api.routes())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fixedSources are stats snapshots with one of everything.
func fixedSources() statsSources {
	return statsSources{
		node: func() node.Stats {
			return node.Stats{
				RPCsIn:           map[string]map[string]uint64{"find_node": {"ok": 7, "invalid": 1}, "ping": {"ok": 3}},
				RPCsOut:          map[string]map[string]uint64{"find_node": {"ok": 5, "timeout": 2}},
				BucketSizes:      []int{0, 0, 3, 20},
				ReplacementSizes: []int{0, 0, 0, 4},
				Evictions:        2,
			}
		},
		transport: func() wire.Stats {
			return wire.Stats{
				LiveSessions:      4,
				PendingHandshakes: 1,
				Handshakes:        map[string]uint64{"ok": 9, "network_mismatch": 1},
				Resumed:           6,
				Tickets:           12,
				Prepared:          5,
				PreparedUsed:      3,
				HeldBeforeCCS:     2,
				Dropped:           map[string]uint64{"queue_full": 3, "garbage": 5},
			}
		},
		store: func() store.Stats { return store.Stats{Writes: 11, Coalesced: 40, Errors: 0} },
	}
}
