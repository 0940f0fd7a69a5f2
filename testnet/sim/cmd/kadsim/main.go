// Command kadsim runs the unchanged kadnode node code on a simulated
// in-memory network of N nodes and measures its lookups: rounds and
// queries (p50/p99), exact-k success without churn, and success with a
// share of the nodes failed. It writes a markdown table, an SVG plot of
// rounds and queries against N next to log2 N, and the raw results as JSON.
//
//	go run ./testnet/sim/cmd/kadsim -n 1000,10000 -churn 0.1,0.3
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet/sim"
)

func main() { os.Exit(launch(os.Args[1:], os.Stdout, os.Stderr)) }

// options are kadsim's flags.
type options struct {
	args                   []string
	ns                     []int
	shares                 []float64
	lookups, parallel      int
	joinParallel, k, alpha int
	latency, jitter, tick  time.Duration
	rttMin, rttMax         time.Duration
	loss                   float64
	timeout, revalidate    time.Duration
	sessions, offMedian    time.Duration
	shape                  float64
	warmup                 time.Duration
	encode                 bool
	seed                   uint64
	out, from              string
	heapProfile            string
	maxTime                time.Duration
	minExact               float64
	nat                    *sim.NATMix
	settle                 time.Duration
}

// parse reads the flags; a non-zero code means they were bad (reported
// on stderr).
func parse(args []string, stderr io.Writer) (options, int) {
	o := options{args: args}
	fs := flag.NewFlagSet("kadsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "1000,10000", "comma-separated network sizes")
	churn := fs.String("churn", "0.1,0.3", "comma-separated cumulative shares of nodes to fail (empty: none)")
	fs.IntVar(&o.lookups, "lookups", 1000, "lookups per phase (half random IDs, half live nodes' IDs)")
	fs.IntVar(&o.parallel, "parallel", 4, "lookups in flight at once")
	fs.IntVar(&o.joinParallel, "join-parallel", defaultJoinParallel, "nodes joining at once")
	fs.IntVar(&o.k, "k", node.DefaultK, "bucket size k")
	fs.IntVar(&o.alpha, "alpha", node.DefaultAlpha, "lookup parallelism α")
	fs.DurationVar(&o.latency, "latency", 0, "one-way latency of every datagram")
	fs.DurationVar(&o.jitter, "jitter", 0, "extra random one-way latency in [0, jitter)")
	fs.DurationVar(&o.tick, "tick", sim.DefaultTick, "deliver every datagram on the next multiple of this (0: exact times; slower)")
	rtt := fs.String("rtt", "20ms-300ms", "range of per-path round-trip times, each pair of nodes drawn once (empty: none)")
	fs.Float64Var(&o.loss, "loss", 0, "probability that a datagram is lost")
	fs.DurationVar(&o.timeout, "timeout", node.DefaultRPCTimeout, "RPC timeout: how long a query to a dead node takes to fail")
	fs.DurationVar(&o.revalidate, "revalidate", time.Hour, "pause between a node's revalidation pings (kadnode's default is 5s)")
	fs.DurationVar(&o.sessions, "sessions", 0, "median session length of Weibull churn, measured in a last phase (0: none)")
	fs.Float64Var(&o.shape, "shape", defaultShape, "Weibull shape of session and offline lengths")
	fs.DurationVar(&o.offMedian, "off-median", 0, "median time a node stays away before it returns (0: the session median)")
	fs.DurationVar(&o.warmup, "warmup", time.Hour, "how long session churn runs before its lookups start")
	fs.BoolVar(&o.encode, "encode", false, "bencode every message (slower; proves every message encodes)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed for IDs, seeds, targets and failures")
	fs.StringVar(&o.out, "out", "", "directory for RESULTS.md, results.svg and results.json (empty: print only)")
	fs.DurationVar(&o.maxTime, "max-time", 45*time.Minute, "bound of the whole run, in wall-clock time")
	fs.StringVar(&o.heapProfile, "heap-profile", "", "write a heap profile of each built network, before its lookups, to this file with \".N\" appended")
	fs.StringVar(&o.from, "from", "", "redraw the table and plot from this results.json instead of running")
	fs.Float64Var(&o.minExact, "min-exact", 0, "exit 1 when, without churn, exact-k or found falls below this share (e.g. 0.99)")
	nat := fs.String("nat", "", "shares of public, cone-NAT'd and symmetric-NAT'd nodes, e.g. 0.40,0.45,0.15: run the NAT experiment instead (empty: all public)")
	fs.DurationVar(&o.settle, "settle", 3*time.Minute, "with -nat, how long the network runs after building before lookups start")
	if err := fs.Parse(args); err != nil {
		return o, 2
	}
	if *nat != "" {
		mix, err := parseMix(*nat)
		if err != nil {
			fmt.Fprintf(stderr, "-nat %q: %v\n", *nat, err)
			return o, 2
		}
		o.nat = &mix
	}
	var err error
	if o.ns, err = parseInts(*sizes); err != nil {
		fmt.Fprintf(stderr, "-n %q: %v\n", *sizes, err)
		return o, 2
	}
	if o.shares, err = parseFloats(*churn); err != nil {
		fmt.Fprintf(stderr, "-churn %q: %v\n", *churn, err)
		return o, 2
	}
	if o.rttMin, o.rttMax, err = parseRange(*rtt); err != nil {
		fmt.Fprintf(stderr, "-rtt %q: %v\n", *rtt, err)
		return o, 2
	}
	if o.tick < 0 {
		fmt.Fprintf(stderr, "-tick %v: must not be negative (0: exact delivery times)\n", o.tick)
		return o, 2
	}
	return o, 0
}

// run parses args and runs the simulation. Its timers are the network's
// time: it must run in a synctest bubble (see TestKadsim), where waiting
// costs nothing.
func run(args []string, stdout, stderr io.Writer) int {
	o, code := parse(args, stderr)
	if code != 0 {
		return code
	}
	return o.execute(stdout, stderr)
}

func (o options) execute(stdout, stderr io.Writer) int {
	if o.nat != nil {
		return o.executeNAT(stdout, stderr)
	}
	ctx := context.Background()
	ns := o.ns
	rf := runFile{
		Command: "go run ./testnet/sim/cmd/kadsim " + strings.Join(o.args, " "),
		Setup: fmt.Sprintf("k=%d, α=%d, %d lookups per phase, path RTTs %v–%v, latency %v (+%v jitter), tick %v, loss %.2f, RPC timeout %v, revalidation every %v, messages bencoded: %v, %s/%s, GOMAXPROCS=%d.",
			o.k, o.alpha, o.lookups, o.rttMin, o.rttMax, o.latency, o.jitter, o.tick, o.loss, o.timeout, o.revalidate, o.encode, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0)),
	}
	if o.from != "" {
		raw, err := os.ReadFile(o.from)
		if err == nil {
			err = json.Unmarshal(raw, &rf)
		}
		if err != nil {
			fmt.Fprintf(stderr, "-from %s: %v\n", o.from, err)
			return 1
		}
		ns = nil
	}
	var sessions *sim.SessionChurn
	if o.sessions > 0 && o.from == "" {
		sessions = &sim.SessionChurn{Median: o.sessions, Shape: o.shape, OffMedian: o.offMedian, Warmup: o.warmup}
		rf.Setup += fmt.Sprintf(" Session churn: Weibull shape %.2f, median session %v, median absence %v, warm-up %v.",
			o.shape, o.sessions, cmp.Or(o.offMedian, o.sessions), o.warmup)
	}
	for _, n := range ns {
		fmt.Fprintf(stderr, "N=%d: building\n", n)
		cfg := sim.ExperimentConfig{
			Cluster:  o.cluster(n, stderr),
			Lookups:  o.lookups,
			Churn:    o.shares,
			Sessions: sessions,
			Parallel: o.parallel,
			// Each stage is reported as it ends: a run that -max-time
			// stops keeps at least these lines.
			Done: func(r sim.ExperimentResult) {
				if len(r.Phases) == 0 {
					fmt.Fprintf(stderr, "N=%d: done: build %+v\n", n, r.Build)
					o.writeHeapProfile(n, stderr)
				} else {
					fmt.Fprintf(stderr, "N=%d: phase %+v\n", n, r.Phases[len(r.Phases)-1])
				}
			},
		}
		res, err := sim.RunExperiment(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "N=%d: %v\n", n, err)
			return 1
		}
		rf.Results = append(rf.Results, res)
		// Keep what is done: a run that -max-time stops at a larger N
		// still leaves the smaller ones for -from to redraw.
		if o.out != "" {
			if err := saveRunFile(o.out, rf); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
	}
	return o.write(rf, stdout, stderr)
}

// cluster is the configuration of an N-node network from the flags.
func (o options) cluster(n int, stderr io.Writer) sim.ClusterConfig {
	last := time.Now()
	return sim.ClusterConfig{
		Nodes: n,
		Net: sim.Config{Latency: o.latency, Jitter: o.jitter, RTTMin: o.rttMin, RTTMax: o.rttMax,
			Tick: o.tick, Loss: o.loss, Timeout: o.timeout, Seed: o.seed, SkipEncoding: !o.encode},
		// At kadnode's 5 s, revalidation adds background pings that cost
		// CPU without changing a lookup's counts.
		Node:         node.Config{K: o.k, Alpha: o.alpha, RPCTimeout: o.timeout, RevalidateInterval: o.revalidate},
		JoinParallel: o.joinParallel,
		MemoryOnly:   true,
		Seed:         o.seed,
		NAT:          o.nat,
		Progress: func(joined, total int) {
			if time.Since(last) > progressEvery || joined == total {
				last = time.Now()
				fmt.Fprintf(stderr, "N=%d: %d joined\n", total, joined)
			}
		},
	}
}

// write prints the tables and, with -out, writes them, the plot and the
// raw results.
func (o options) write(rf runFile, stdout, stderr io.Writer) int {
	var md bytes.Buffer
	fmt.Fprintf(&md, "%s\nCommand: `%s`\n\n%s\n\n", method, rf.Command, rf.Setup)
	if err := sim.WriteMarkdown(&md, rf.Results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(md.Bytes())
	if bad := belowTarget(rf.Results, o.minExact); bad != "" {
		fmt.Fprintln(stderr, bad)
		return 1
	}
	if o.out == "" {
		return 0
	}
	var svg bytes.Buffer
	if err := sim.WritePlot(&svg, rf.Results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := saveRunFile(o.out, rf); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for name, data := range map[string][]byte{"RESULTS.md": md.Bytes(), "results.svg": svg.Bytes()} {
		if err := os.WriteFile(filepath.Join(o.out, name), data, 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wrote RESULTS.md, results.svg and results.json to %s\n", o.out)
	return 0
}

// saveRunFile writes rf as dir/results.json.
func saveRunFile(dir string, rf runFile) error {
	raw, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.json"), append(raw, '\n'), 0o644)
}

// runFile is results.json: the results with how they were made, so that
// -from can redraw them.
type runFile struct {
	Command string
	Setup   string
	Results []sim.ExperimentResult
}

// belowTarget describes the first churn-free phase whose exact-k or found
// share is under min, or returns "".
func belowTarget(results []sim.ExperimentResult, min float64) string {
	for _, r := range results {
		for _, p := range r.Phases {
			if p.Churn == 0 && !p.Sessions && (p.ExactK < min || p.Found < min) {
				return fmt.Sprintf("N=%d: exact k %.1f%%, found %.1f%%: below the -min-exact target of %.1f%%", r.Nodes, 100*p.ExactK, 100*p.Found, 100*min)
			}
		}
	}
	return ""
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("want whole numbers of nodes of at least 2, got %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseRange reads "lo-hi" durations; empty is no range.
func parseRange(s string) (lo, hi time.Duration, err error) {
	if strings.TrimSpace(s) == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if ok {
		lo, err = time.ParseDuration(strings.TrimSpace(a))
	}
	if ok && err == nil {
		hi, err = time.ParseDuration(strings.TrimSpace(b))
	}
	if !ok || err != nil || lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("want two durations low-high, e.g. 20ms-300ms")
	}
	return lo, hi, nil
}

func parseFloats(s string) ([]float64, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 || x >= 1 {
			return nil, fmt.Errorf("want shares strictly between 0 and 1, got %q", f)
		}
		out = append(out, x)
	}
	return out, nil
}

// writeHeapProfile writes, with -heap-profile, what the built network of
// n nodes holds: the heap per node that the results report, by where it
// was allocated.
func (o options) writeHeapProfile(n int, stderr io.Writer) {
	if o.heapProfile == "" {
		return
	}
	name := fmt.Sprintf("%s.%d", o.heapProfile, n)
	f, err := os.Create(name)
	if err == nil {
		runtime.GC()
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	if err != nil {
		fmt.Fprintf(stderr, "kadsim: -heap-profile: %v\n", err)
	}
}
