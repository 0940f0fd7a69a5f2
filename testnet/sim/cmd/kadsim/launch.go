package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// pkgPath is this command's package: the launcher builds its test
	// binary, since testing/synctest's bubble needs a *testing.T.
	pkgPath = "github.com/kadnode/kadnode/testnet/sim/cmd/kadsim"
	// defaultJoinParallel is how many nodes join at once. In virtual time
	// waiting is free, so many joins overlap; too few would stretch the
	// build over simulated hours in which hourly bucket refreshes fire.
	defaultJoinParallel = 256
	// defaultShape is the Weibull shape of session lengths: Stutzbach and
	// Rejaie (IMC 2006) fit shapes of about 0.3 to 0.6 for Kad, Gnutella
	// and BitTorrent.
	defaultShape = 0.5
	// progressEvery is how often, in the network's time, kadsim reports
	// how many nodes joined.
	progressEvery = 10 * time.Minute
	// memoryShare is the share of the machine's memory the simulator's
	// heap may grow to (GOMEMLIMIT) unless the environment sets a limit.
	// 100,000 nodes hold over 10 GB live, and the collector's default
	// goal of twice the live heap would pass the machine's memory.
	memoryShare = 0.85
)

// launch runs kadsim in virtual time: it builds this package's test
// binary and runs TestKadsim with args, in the current directory, so that
// relative paths (-out, -from) mean what they say. Flags are checked first
// so that a typo costs no build.
func launch(args []string, stdout, stderr io.Writer) int {
	if _, code := parse(args, stderr); code != 0 {
		return code
	}
	dir, err := os.MkdirTemp("", "kadsim-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "kadsim.test")
	build := exec.Command("go", "test", "-c", "-o", bin, pkgPath)
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(stderr, "kadsim: building the simulator: %v (kadsim runs from the module, as go run ./testnet/sim/cmd/kadsim)\n", err)
		return 1
	}
	cmd := exec.Command(bin, append([]string{"-test.run=^TestKadsim$", "-test.timeout=0", "--"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Env = withMemoryLimit(os.Environ())
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// withMemoryLimit adds GOMEMLIMIT, at memoryShare of the machine's
// memory, to env unless it holds one or the memory cannot be read.
func withMemoryLimit(env []string) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "GOMEMLIMIT=") {
			return env
		}
	}
	total, ok := memTotal()
	if !ok {
		return env
	}
	return append(env, fmt.Sprintf("GOMEMLIMIT=%d", int64(float64(total)*memoryShare)))
}

// memTotal is MemTotal from /proc/meminfo, in bytes.
func memTotal() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024, err == nil && kb > 0
		}
	}
	return 0, false
}
