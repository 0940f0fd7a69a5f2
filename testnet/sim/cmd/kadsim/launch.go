package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
