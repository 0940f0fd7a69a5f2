package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/kadnode/kadnode/testnet/sim"
)

// natRunFile is nat.json: the NAT results with how they were made.
type natRunFile struct {
	Command string
	Setup   string
	Results []sim.NATResult
}

// executeNAT runs the NAT experiment for each N and prints its tables;
// with -out it writes them as NAT.md, with the raw results as nat.json.
func (o options) executeNAT(stdout, stderr io.Writer) int {
	rf := natRunFile{
		Command: "go run ./testnet/sim/cmd/kadsim " + strings.Join(o.args, " "),
		Setup: fmt.Sprintf("%.0f%% public, %.0f%% cone NAT, %.0f%% symmetric NAT; k=%d, α=%d, %d lookups, settle %v, path RTTs %v–%v, tick %v, loss %.2f, RPC timeout %v, revalidation every %v, %s/%s, GOMAXPROCS=%d.",
			100*o.nat.Public, 100*o.nat.Cone, 100*o.nat.Symmetric, o.k, o.alpha, o.lookups, o.settle, o.rttMin, o.rttMax, o.tick, o.loss, o.timeout, o.revalidate,
			runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0)),
	}
	for _, n := range o.ns {
		fmt.Fprintf(stderr, "N=%d: building with NATs\n", n)
		cfg := sim.NATExperimentConfig{
			Cluster:  o.cluster(n, stderr),
			Settle:   o.settle,
			Lookups:  o.lookups,
			Parallel: o.parallel,
		}
		res, err := sim.RunNATExperiment(context.Background(), cfg)
		if err != nil {
			fmt.Fprintf(stderr, "N=%d: %v\n", n, err)
			return 1
		}
		fmt.Fprintf(stderr, "N=%d: done: %+v\n", n, res)
		rf.Results = append(rf.Results, res)
	}
	var md bytes.Buffer
	fmt.Fprintf(&md, "Command: `%s`\n\n%s\n\n", rf.Command, rf.Setup)
	if err := sim.WriteNATMarkdown(&md, rf.Results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	stdout.Write(md.Bytes())
	if o.out == "" {
		return 0
	}
	raw, err := json.MarshalIndent(rf, "", "  ")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for name, data := range map[string][]byte{"NAT.md": md.Bytes(), "nat.json": append(raw, '\n')} {
		if err := os.WriteFile(filepath.Join(o.out, name), data, 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wrote NAT.md and nat.json to %s\n", o.out)
	return 0
}

// parseMix reads "public,cone,symmetric" shares that add up to 1.
func parseMix(s string) (sim.NATMix, error) {
	var xs []float64
	for _, f := range strings.Split(s, ",") {
		var x float64
		if _, err := fmt.Sscanf(strings.TrimSpace(f), "%g", &x); err != nil || x < 0 || x > 1 {
			return sim.NATMix{}, fmt.Errorf("want three shares between 0 and 1, got %q", f)
		}
		xs = append(xs, x)
	}
	if len(xs) != 3 {
		return sim.NATMix{}, fmt.Errorf("want three shares (public, cone, symmetric), got %d", len(xs))
	}
	m := sim.NATMix{Public: xs[0], Cone: xs[1], Symmetric: xs[2]}
	return m, m.Validate()
}
