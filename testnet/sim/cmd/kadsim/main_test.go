package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"

	"go.uber.org/goleak"

	"github.com/kadnode/kadnode/testnet/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The simulation's timers run in virtual time: every run goes in a
// synctest bubble, as TestKadsim runs it for the command.

func TestTinyRunWritesResults(t *testing.T) { synctest.Test(t, testTinyRun) }

func testTinyRun(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-n", "20,40", "-lookups", "20", "-churn", "0.2", "-sessions", "1h", "-warmup", "10m", "-encode", "-min-exact", "0.99", "-out", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"| 20 |", "| 40 |", "20.0%"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, f := range []string{"RESULTS.md", "results.svg", "results.json"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestRedrawFromJSON(t *testing.T) { synctest.Test(t, testRedraw) }

func testRedraw(t *testing.T) {
	dir := t.TempDir()
	if code := run([]string{"-n", "20", "-lookups", "10", "-churn", "", "-out", dir}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("first run: exit %d", code)
	}
	first, err := os.ReadFile(filepath.Join(dir, "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	again := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-from", filepath.Join(dir, "results.json"), "-out", again}, io.Discard, &stderr); code != 0 {
		t.Fatalf("redraw: exit %d: %s", code, stderr.String())
	}
	second, err := os.ReadFile(filepath.Join(again, "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Errorf("redrawn table differs:\n%s\nwas:\n%s", second, first)
	}
}

func TestTinyNATRun(t *testing.T) { synctest.Test(t, testTinyNATRun) }

func testTinyNATRun(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"-n", "30", "-lookups", "9", "-nat", "0.4,0.45,0.15", "-settle", "1m", "-out", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"| 30 | cone | all |", "| 30 | symmetric |", "found and reached"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	for _, f := range []string{"NAT.md", "nat.json"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestBelowTarget(t *testing.T) {
	ok := sim.PhaseResult{ExactK: 1, Found: 1}
	low := sim.PhaseResult{ExactK: 0.95, Found: 1}
	churned := sim.PhaseResult{Churn: 0.3, ExactK: 0.1, Found: 0.9}
	if msg := belowTarget([]sim.ExperimentResult{{Nodes: 10, Phases: []sim.PhaseResult{ok, churned}}}, 0.99); msg != "" {
		t.Errorf("exact run flagged: %s", msg)
	}
	if msg := belowTarget([]sim.ExperimentResult{{Nodes: 10, Phases: []sim.PhaseResult{low}}}, 0.99); !strings.Contains(msg, "N=10") {
		t.Errorf("95%% exact not flagged against 99%%: %q", msg)
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"-n", "1"}, {"-n", "ten"}, {"-churn", "1.5"}, {"-rtt", "300ms-20ms"}, {"-rtt", "20ms"}, {"-tick", "-1ms"}, {"-bogus"},
		{"-nat", "0.5,0.5"}, {"-nat", "0.4,0.45,0.2"}, {"-nat", "0,0.5,0.5"}} {
		var stderr bytes.Buffer
		if code := run(args, io.Discard, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d with %q, want 2 and a message", args, code, stderr.String())
		}
	}
}

// The simulator's heap is capped below the machine's memory, unless the
// caller capped it already.
func TestMemoryLimitIsSetOnce(t *testing.T) {
	kept := []string{"A=1", "GOMEMLIMIT=1GiB"}
	if got := withMemoryLimit(kept); len(got) != len(kept) {
		t.Errorf("withMemoryLimit(%q) = %q: want the caller's limit kept alone", kept, got)
	}
	if _, ok := memTotal(); !ok {
		t.Skip("no /proc/meminfo here")
	}
	got := withMemoryLimit([]string{"A=1"})
	if len(got) != 2 || !strings.HasPrefix(got[1], "GOMEMLIMIT=") {
		t.Fatalf("withMemoryLimit = %q: want a GOMEMLIMIT added", got)
	}
	if v, err := strconv.ParseInt(strings.TrimPrefix(got[1], "GOMEMLIMIT="), 10, 64); err != nil || v <= 0 {
		t.Errorf("%s: want a positive byte count", got[1])
	}
}
