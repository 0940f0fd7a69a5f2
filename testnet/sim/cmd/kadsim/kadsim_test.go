package main

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"
)

// TestKadsim is kadsim itself: launch runs this package's test binary as
// "kadsim.test -test.run=^TestKadsim$ -- ARGS", and the simulation runs in
// a synctest bubble, whose clock jumps ahead whenever every node is
// waiting. Without arguments (a plain go test) it is skipped.
func TestKadsim(t *testing.T) {
	args := flag.Args()
	if len(args) == 0 {
		t.Skip("kadsim's entry point; run go run ./testnet/sim/cmd/kadsim")
	}
	o, code := parse(args, os.Stderr)
	if code != 0 {
		os.Exit(code)
	}
	// The bubble's clock is virtual: -max-time bounds the real time from
	// outside it.
	stop := time.AfterFunc(o.maxTime, func() {
		fmt.Fprintf(os.Stderr, "kadsim: stopped after -max-time %v of wall-clock time\n", o.maxTime)
		os.Exit(1)
	})
	defer stop.Stop()
	synctest.Test(t, func(t *testing.T) { code = o.execute(os.Stdout, os.Stderr) })
	if code != 0 {
		os.Exit(code)
	}
}
