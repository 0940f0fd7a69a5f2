package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// checker runs the testnet scenario and remembers what it learned.
type checker struct {
	d    *dockerCLI
	spec composeSpec
	o    options
	out  io.Writer

	ids map[string]string // service → node ID (hex)
	// disconnected says stepDisconnect cut its target off, which
	// stepReconnect undoes.
	disconnected bool
}

// errSkipped is what a step returns when what it needs did not happen.
var errSkipped = errors.New("skipped")

type step struct {
	title string
	run   func(ctx context.Context) error
	// blame lists the services whose logs explain a failure.
	blame []string
	// critical steps leave nothing to check when they fail; after any
	// other failure the remaining steps still run.
	critical bool
}

// check runs every step, stopping early only when a critical step fails or
// time runs out, always tears the testnet down (unless -keep) and reports
// whether all steps passed.
func check(ctx context.Context, d *dockerCLI, spec composeSpec, o options, out io.Writer) bool {
	c := &checker{d: d, spec: spec, o: o, out: out, ids: make(map[string]string)}
	start := time.Now()
	fmt.Fprintf(out, "testnet-check: seed + %d nodes, %d lookups per node, bounded by %v\n", spec.Nodes, o.sample, o.timeout)
	if err := down(ctx, d, io.Discard); err != nil {
		fmt.Fprintf(out, "    clearing an old testnet: %v\n", err)
	}
	defer func() {
		if o.keep {
			fmt.Fprintln(out, "    -keep: testnet left running; `make testnet-down` removes it")
			return
		}
		// The check's own context may have run out: teardown gets its own.
		tctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := down(tctx, d, out); err != nil {
			fmt.Fprintf(out, "    teardown: %v\n", err)
		}
	}()

	steps := c.steps()
	passed, failed := 0, 0
	for i, s := range steps {
		fmt.Fprintf(out, "=== STEP %d/%d: %s\n", i+1, len(steps), s.title)
		t0 := time.Now()
		err := s.run(ctx)
		if err == nil {
			passed++
			fmt.Fprintf(out, "--- PASS: %s (%.1fs)\n", s.title, time.Since(t0).Seconds())
			continue
		}
		if errors.Is(err, errSkipped) {
			fmt.Fprintf(out, "--- SKIP: %s\n    %v\n", s.title, err)
			continue
		}
		failed++
		fmt.Fprintf(out, "--- FAIL: %s (%.1fs)\n    %v\n", s.title, time.Since(t0).Seconds(), indent(err.Error()))
		for _, svc := range s.blame {
			fmt.Fprintf(out, "    last log lines of %s:\n%s", svc, indentAll(d.logs(context.Background(), svc)))
		}
		if s.critical || ctx.Err() != nil {
			break
		}
	}
	skipped := len(steps) - passed - failed
	fmt.Fprintf(out, "testnet-check: %d passed, %d failed, %d skipped (%.0fs)\n", passed, failed, skipped, time.Since(start).Seconds())
	return failed == 0 && skipped == 0
}

func (c *checker) steps() []step {
	n := len(c.spec.initial())
	steps := []step{
		{fmt.Sprintf("build the image and start a seed and %d nodes", c.spec.Nodes), c.stepUp, []string{seedService, nodeService(1)}, true},
		{fmt.Sprintf("all %d nodes join", n), c.stepJoin, []string{seedService, nodeService(1)}, true},
		{"quiet network: every node joined within " + maxJoinTime.String() + ", no live contact evicted, handshake timeouts under 1%", c.stepQuiet, nil, false},
		{"every node finds a sample of others at their addresses", c.stepLookups, nil, false},
	}
	if c.spec.NAT {
		steps = append(steps, step{"cone NAT: " + natService + " behind a masquerading router is found, pinged and kept", c.stepNAT, []string{natService, routerService}, false})
	}
	steps = append(steps, []step{
		{"stop the seed: a new node joins through " + nodeService(1), c.stepLateJoin, []string{lateService, nodeService(1)}, false},
		{"restart " + restartTarget + " from its volume without seeds: table kept, it rejoins", c.stepRestartNoSeed, []string{restartTarget}, false},
		{"restart every node in turn: every table survives, lookups still find everyone", c.stepRestartAll, nil, false},
		{"disconnect " + disconnectTarget + ": the others evict it after the failure limit", c.stepDisconnect, []string{nodeService(1)}, false},
		{"reconnect " + disconnectTarget + ": back in tables after its next lookup", c.stepReconnect, []string{disconnectTarget}, false},
	}...)
	return steps
}

func (c *checker) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "    "+format+"\n", args...)
}

func (c *checker) stepUp(ctx context.Context) error {
	return up(ctx, c.d, c.spec, c.o, c.out)
}

// stepJoin waits until every node says it has joined, has a non-empty
// table, and sits in at least one other node's table.
func (c *checker) stepJoin(ctx context.Context) error {
	svcs := c.spec.initial()
	for _, s := range svcs {
		self, err := c.d.self(ctx, s)
		if err != nil {
			return err
		}
		c.ids[s] = self.ID
	}
	var sizes []int
	err := poll(ctx, stepTimeout, func() (bool, string) {
		tables, err := c.tables(ctx, svcs)
		if err != nil {
			return false, err.Error()
		}
		selves, selfErrs := c.selves(ctx, svcs)
		sizes = sizes[:0]
		var missing []string
		for _, s := range svcs {
			sizes = append(sizes, len(bucketIDs(tables[s])))
			self, err := selves[s], selfErrs[s]
			switch {
			case err != nil:
				missing = append(missing, fmt.Sprintf("%s (%v)", s, err))
			case !self.Joined:
				missing = append(missing, s+" (not joined)")
			case len(bucketIDs(tables[s])) == 0:
				missing = append(missing, s+" (empty table)")
			case len(holders(tables, c.ids[s], s)) == 0:
				missing = append(missing, s+" (in nobody's table)")
			}
		}
		return len(missing) == 0, fmt.Sprintf("not joined: %s", strings.Join(missing, ", "))
	})
	if err != nil {
		return err
	}
	slices.Sort(sizes)
	c.logf("%d nodes joined; table sizes min %d, median %d, max %d", len(svcs), sizes[0], sizes[len(sizes)/2], sizes[len(sizes)-1])
	return nil
}

// stepLookups has node i look up nodes i+1..i+sample (in ring order, so
// every node is also a target) and checks each is found at its container's
// address. The lookups go over the nodes' control API, lookupWorkers at a
// time.
func (c *checker) stepLookups(ctx context.Context) error {
	svcs := c.spec.initial()
	nodes, err := c.reach(ctx, svcs)
	if err != nil {
		return err
	}
	type job struct{ from, to string }
	var jobs []job
	for i, from := range svcs {
		for j := 1; j <= c.o.sample; j++ {
			jobs = append(jobs, job{from, svcs[(i+j)%len(svcs)]})
		}
	}
	results := make([]lookupJSON, len(jobs))
	errs := make([]error, len(jobs))
	forEachBounded(len(jobs), lookupWorkers, func(i int) {
		from, to := nodes[jobs[i].from], nodes[jobs[i].to]
		results[i], errs[i] = c.lookupVia(ctx, from, to)
	})
	var failures []string
	rounds, queries := 0, 0
	for i, err := range errs {
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		rounds += results[i].Stats.Rounds
		queries += results[i].Stats.Queries
	}
	total := len(jobs)
	if len(failures) > 0 {
		return fmt.Errorf("%d of %d lookups failed:\n%s", len(failures), total, strings.Join(failures, "\n"))
	}
	c.logf("%d lookups, all found at the right address; mean %.1f rounds, %.1f queries",
		total, float64(rounds)/float64(total), float64(queries)/float64(total))
	return nil
}

// apiNode is what a step needs to ask a node for lookups and to check it
// is found: its API client and its current address.
type apiNode struct {
	service string
	client  *http.Client
	addr    netip.AddrPort
}

// reach resolves each service's API client and address once, in parallel.
func (c *checker) reach(ctx context.Context, svcs []string) (map[string]apiNode, error) {
	nodes := make([]apiNode, len(svcs))
	errs := make([]error, len(svcs))
	forEachBounded(len(svcs), lookupWorkers, func(i int) {
		nodes[i], errs[i] = c.node(ctx, svcs[i])
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[string]apiNode, len(svcs))
	for _, n := range nodes {
		out[n.service] = n
	}
	return out, nil
}

func (c *checker) node(ctx context.Context, service string) (apiNode, error) {
	client, err := c.d.apiClient(ctx, service)
	if err != nil {
		return apiNode{}, err
	}
	addr, err := c.addr(ctx, service)
	if err != nil {
		return apiNode{}, err
	}
	return apiNode{service: service, client: client, addr: addr}, nil
}

// lookupFinds has from look up to's ID and checks the answer against to's
// current container address.
func (c *checker) lookupFinds(ctx context.Context, from, to string) (lookupJSON, error) {
	f, err := c.node(ctx, from)
	if err != nil {
		return lookupJSON{}, err
	}
	t, err := c.node(ctx, to)
	if err != nil {
		return lookupJSON{}, err
	}
	return c.lookupVia(ctx, f, t)
}

// lookupVia has from look up to's ID and checks the answer against to's
// address.
func (c *checker) lookupVia(ctx context.Context, from, to apiNode) (lookupJSON, error) {
	l, err := lookupVia(ctx, from.client, from.service, c.ids[to.service])
	switch {
	case err != nil:
		return l, fmt.Errorf("%s → %s: %v", from.service, to.service, err)
	case !l.Found:
		return l, fmt.Errorf("%s → %s: not found (%d queries, %d timeouts)", from.service, to.service, l.Stats.Queries, l.Stats.Timeouts)
	case l.Addr != to.addr.String():
		return l, fmt.Errorf("%s → %s: found at %s, but it is at %s", from.service, to.service, l.Addr, to.addr)
	}
	return l, nil
}

// forEachBounded calls f(0..n-1), at most workers at a time, and returns
// when all have returned.
func forEachBounded(n, workers int, f func(i int)) {
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

func (c *checker) addr(ctx context.Context, service string) (netip.AddrPort, error) {
	ip, err := c.d.ip(ctx, service)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(ip, nodePort), nil
}

// live lists the running node services (seed and late included when up).
func (c *checker) live(ctx context.Context) []string {
	var out []string
	for _, s := range c.spec.services() {
		if c.d.running(ctx, s) {
			out = append(out, s)
		}
	}
	return out
}

// tables reads the routing table of each service, in parallel.
func (c *checker) tables(ctx context.Context, svcs []string) (map[string][]nodeJSON, error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string][]nodeJSON, len(svcs))
	var firstErr error
	for _, s := range svcs {
		wg.Go(func() {
			t, err := c.d.table(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[s] = t
		})
	}
	wg.Wait()
	return out, firstErr
}

// selves asks every service who it is, in parallel.
func (c *checker) selves(ctx context.Context, svcs []string) (map[string]selfJSON, map[string]error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string]selfJSON, len(svcs))
	errs := make(map[string]error)
	for _, s := range svcs {
		wg.Go(func() {
			self, err := c.d.self(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			out[s] = self
			if err != nil {
				errs[s] = err
			}
		})
	}
	wg.Wait()
	return out, errs
}

// holders lists the services other than self whose buckets hold id.
func holders(tables map[string][]nodeJSON, id, self string) []string {
	var out []string
	for _, s := range slices.Sorted(maps.Keys(tables)) {
		if _, ok := bucketIDs(tables[s])[id]; ok && s != self {
			out = append(out, s)
		}
	}
	return out
}

func indent(s string) string { return strings.ReplaceAll(s, "\n", "\n    ") }

func indentAll(s string) string {
	if s == "" {
		return ""
	}
	return "      " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ") + "\n"
}
