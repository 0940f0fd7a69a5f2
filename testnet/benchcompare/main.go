// Command benchcompare builds an N-node kadnode network (real DTLS and
// Pebble on 127.0.0.1) and an N-node anacrolix/dht network in one process,
// joins both the same way, measures both the same way, interleaved, and
// prints a markdown table of each figure for both and the ratio. With
// -values it also puts and gets BEP 44 items on both (values*.go).
//
//	go run ./testnet/benchcompare -n 100,500,1000
//	go run ./testnet/benchcompare -n 500 -k 8,20 -values 500 -rest-wait 0
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/kadnode/kadnode/wire"
)

// options are the command line settings of a run.
type options struct {
	sizes        []int
	ks           []int
	lookups      int
	joinParallel int
	window       int
	answerTime   time.Duration
	answerRuns   int
	seed         uint64
	profileDir   string
	revalidate   time.Duration // kadnode RevalidateInterval; 0 keeps its default
	prepareAhead int           // kadnode PrepareAhead; 0 keeps its default, negative is off
	restWait     time.Duration // pause before the at-rest memory; 0 skips it
	values       int           // BEP 44 items of the values phase; 0 skips it
	delay        time.Duration // one-way delay of every datagram the nodes send; 0: none
	progress     io.Writer
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchcompare:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchcompare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizes := fs.String("n", "100,500,1000", "network sizes, comma-separated")
	ks := fs.String("k", "8,20", "kadnode k of each row, comma-separated (8 is anacrolix's k; 20 is kadnode's default)")
	o := options{progress: stderr}
	fs.IntVar(&o.lookups, "lookups", 200, "lookups L per pass (cold, warm, find_node), from random nodes to random targets")
	fs.IntVar(&o.joinParallel, "join-parallel", 8, "nodes joining at once, each through a random node that joined before")
	fs.IntVar(&o.window, "answer-window", 64, "find_node queries in flight against one node (one per client)")
	fs.DurationVar(&o.answerTime, "answer-time", 2*time.Second, "duration of one find_node load run")
	fs.IntVar(&o.answerRuns, "answer-runs", 3, "load runs per system, interleaved; the median is reported")
	fs.DurationVar(&o.delay, "delay", 0, "one-way delay added to every datagram the nodes of both networks send (a round trip between nodes takes twice it; 0: loopback as it is)")
	fs.IntVar(&o.values, "values", 0, "BEP 44 items to put and get on both systems after the lookups (0 skips the values phase)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed for join order, lookup pairs and targets")
	fs.IntVar(&o.prepareAhead, "prepare-ahead", 0, "kadnode's handshakes started ahead with a lookup's next candidates (0: its default; -1: off)")
	fs.DurationVar(&o.revalidate, "revalidate", 0, "kadnode's pause between two liveness pings per node (0: its default); "+
		"every node of the process shares the same cores, so at large N this background work weighs on every figure")
	fs.DurationVar(&o.restWait, "rest-wait", wire.DefaultIdleTimeout+restSlack, "pause after the load before kadnode's at-rest memory is taken, "+
		"so that idle DTLS sessions are reaped (0 skips that measurement)")
	fs.StringVar(&o.profileDir, "profile-dir", "", "write a CPU profile of every phase, and heap profiles after the join and at rest, into this directory")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	out := fs.String("out", "", "also write the markdown to this file")
	timeout := fs.Duration("timeout", 30*time.Minute, "bound on the whole run")
	debugAddr := fs.String("debug-addr", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060) to inspect a long run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if o.sizes, err = parseInts(*sizes, 2); err != nil {
		return fmt.Errorf("-n: %w", err)
	}
	if o.ks, err = parseInts(*ks, 1); err != nil {
		return fmt.Errorf("-k: %w", err)
	}
	if o.lookups < 1 || o.joinParallel < 1 || o.window < 1 || o.answerRuns < 1 || o.answerTime <= 0 || o.revalidate < 0 || o.restWait < 0 || o.values < 0 {
		return errors.New("-lookups, -join-parallel, -answer-window, -answer-runs and -answer-time must be positive, -revalidate and -values not negative")
	}
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *debugAddr != "" {
		stopDebug, err := serveDebug(*debugAddr)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()

	// Tables go out as soon as each row is measured; the file gets all of them.
	var md bytes.Buffer
	w := io.MultiWriter(stdout, &md)
	writeHeader(w, "go run ./testnet/benchcompare "+strings.Join(args, " "))
	writeNotes(w, o)
	if o.values > 0 {
		writeValuesNotes(w, o)
	}
	for _, n := range o.sizes {
		_, err := runSize(ctx, n, o, func(r rowResult) {
			writeRow(w, r)
			if r.values != nil {
				writeValues(w, r)
			}
			if r.k == 8 {
				writeTargets(w, r)
			}
		})
		if err != nil {
			return fmt.Errorf("network of %d nodes: %w", n, err)
		}
	}
	fmt.Fprintf(w, "Load average at the end: %s.\n", loadAverage())
	if *out != "" {
		return os.WriteFile(*out, md.Bytes(), 0o644)
	}
	return nil
}

// parseInts reads a comma-separated list of integers of at least least.
func parseInts(s string, least int) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < least {
			return nil, fmt.Errorf("%q is not a list of integers ≥ %d", s, least)
		}
		out = append(out, v)
	}
	return out, nil
}

func (o options) logf(format string, a ...any) {
	fmt.Fprintf(o.progress, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, a...)...)
}
