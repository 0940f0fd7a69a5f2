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
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/testnet/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kadsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "1000,10000", "comma-separated network sizes")
	churn := fs.String("churn", "0.1,0.3", "comma-separated cumulative shares of nodes to fail (empty: none)")
	lookups := fs.Int("lookups", 1000, "lookups per phase (half random IDs, half live nodes' IDs)")
	parallel := fs.Int("parallel", 4, "lookups in flight at once")
	joinParallel := fs.Int("join-parallel", 2*runtime.GOMAXPROCS(0), "nodes joining at once")
	k := fs.Int("k", node.DefaultK, "bucket size k")
	alpha := fs.Int("alpha", node.DefaultAlpha, "lookup parallelism α")
	latency := fs.Duration("latency", 0, "one-way latency of every datagram")
	jitter := fs.Duration("jitter", 0, "extra random one-way latency in [0, jitter)")
	loss := fs.Float64("loss", 0, "probability that a datagram is lost")
	timeout := fs.Duration("timeout", sim.DefaultTimeout, "how long a query to a dead node takes to time out")
	encode := fs.Bool("encode", false, "bencode every message (slower; proves every message encodes)")
	seed := fs.Uint64("seed", 1, "random seed for IDs, seeds, targets and failures")
	out := fs.String("out", "", "directory for RESULTS.md, results.svg and results.json (empty: print only)")
	maxTime := fs.Duration("max-time", 45*time.Minute, "bound of the whole run")
	from := fs.String("from", "", "redraw the table and plot from this results.json instead of running")
	minExact := fs.Float64("min-exact", 0, "exit 1 when, without churn, exact-k or found falls below this share (e.g. 0.99)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ns, err := parseInts(*sizes)
	if err != nil {
		fmt.Fprintf(stderr, "-n %q: %v\n", *sizes, err)
		return 2
	}
	shares, err := parseFloats(*churn)
	if err != nil {
		fmt.Fprintf(stderr, "-churn %q: %v\n", *churn, err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxTime)
	defer cancel()

	rf := runFile{
		Command: "go run ./testnet/sim/cmd/kadsim " + strings.Join(args, " "),
		Setup: fmt.Sprintf("k=%d, α=%d, %d lookups per phase, latency %v (+%v jitter), loss %.2f, dead-node timeout %v, messages bencoded: %v, %s/%s, GOMAXPROCS=%d.",
			*k, *alpha, *lookups, *latency, *jitter, *loss, *timeout, *encode, runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0)),
	}
	if *from != "" {
		raw, err := os.ReadFile(*from)
		if err == nil {
			err = json.Unmarshal(raw, &rf)
		}
		if err != nil {
			fmt.Fprintf(stderr, "-from %s: %v\n", *from, err)
			return 1
		}
		ns = nil
	}
	for _, n := range ns {
		fmt.Fprintf(stderr, "N=%d: building\n", n)
		last := time.Now()
		cfg := sim.ExperimentConfig{
			Cluster: sim.ClusterConfig{
				Nodes: n,
				Net:   sim.Config{Latency: *latency, Jitter: *jitter, Loss: *loss, Timeout: *timeout, Seed: *seed, SkipEncoding: !*encode},
				// Revalidation would add background pings that blur the
				// per-lookup counts; the hour-long refresh never fires.
				Node:         node.Config{K: *k, Alpha: *alpha, RevalidateInterval: time.Hour},
				JoinParallel: *joinParallel,
				Seed:         *seed,
				Progress: func(joined, total int) {
					if time.Since(last) > 10*time.Second || joined == total {
						last = time.Now()
						fmt.Fprintf(stderr, "N=%d: %d joined\n", total, joined)
					}
				},
			},
			Lookups:  *lookups,
			Churn:    shares,
			Parallel: *parallel,
		}
		start := time.Now()
		res, err := sim.RunExperiment(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "N=%d: %v\n", n, err)
			return 1
		}
		fmt.Fprintf(stderr, "N=%d: done in %v: build %+v\n", n, time.Since(start).Round(time.Second), res.Build)
		rf.Results = append(rf.Results, res)
	}

	var md bytes.Buffer
	fmt.Fprintf(&md, "%s\nCommand: `%s`\n\n%s\n\n", method, rf.Command, rf.Setup)
	if err := sim.WriteMarkdown(&md, rf.Results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(md.Bytes())
	if bad := belowTarget(rf.Results, *minExact); bad != "" {
		fmt.Fprintln(stderr, bad)
		return 1
	}
	if *out == "" {
		return 0
	}
	var svg bytes.Buffer
	if err := sim.WritePlot(&svg, rf.Results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	raw, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for name, data := range map[string][]byte{"RESULTS.md": md.Bytes(), "results.svg": svg.Bytes(), "results.json": append(raw, '\n')} {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wrote RESULTS.md, results.svg and results.json to %s\n", *out)
	return 0
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
			if p.Churn == 0 && (p.ExactK < min || p.Found < min) {
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
