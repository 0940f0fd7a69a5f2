// Command docker runs the kadnode docker-compose testnet: it builds a
// FROM-scratch image around the static binary, writes a compose file for N
// nodes, starts and stops the network, and runs the failure scenario of
// `make testnet-check` with a PASS or FAIL line per step.
//
//	go run ./testnet/docker compose -n 8     print the compose file
//	go run ./testnet/docker up -n 20         build the image, start a seed and 20 nodes
//	go run ./testnet/docker down             remove containers, volumes and network
//	go run ./testnet/docker check -n 8       up, scenario, down (always)
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/kadnode/kadnode/testnet/netns"
)

//go:embed Dockerfile
var dockerfile []byte

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// options are the flags every subcommand shares.
type options struct {
	nodes   int
	binary  string
	workDir string
	timeout time.Duration
	sample  int
	keep    bool
	observe time.Duration
	nat     bool   // add a router and a node behind it
	router  string // static natrouter binary
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: go run ./testnet/docker compose|up|down|check [-n N] [flags]")
		return 2
	}
	cmd := args[0]
	if !slices.Contains([]string{"compose", "up", "down", "check"}, cmd) {
		fmt.Fprintf(stderr, "unknown command %q: want compose, up, down or check\n", cmd)
		return 2
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.nodes, "n", defaultNodes, "number of nodes besides the seed")
	fs.StringVar(&o.binary, "bin", defaultBinaryPath, "static kadnode binary (make static)")
	fs.StringVar(&o.workDir, "dir", defaultWorkDir, "directory for the image context and compose files")
	fs.DurationVar(&o.timeout, "timeout", 0, "bound of the whole command (default: grows with -n and -observe)")
	fs.IntVar(&o.sample, "sample", defaultSample, "check: lookups per node")
	fs.BoolVar(&o.keep, "keep", false, "check: leave the testnet running afterwards")
	fs.DurationVar(&o.observe, "observe", defaultObserve, "check: how long to watch the quiet network for false evictions")
	fs.BoolVar(&o.nat, "nat", true, "add a home router (masquerading) and a node behind it")
	fs.StringVar(&o.router, "router", defaultRouterPath, "static natrouter binary (make static)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if o.nodes < 3 || o.nodes > maxNodes {
		fmt.Fprintf(stderr, "-n %d: the scenario needs at least 3 nodes and one machine runs at most %d\n", o.nodes, maxNodes)
		return 2
	}
	if o.sample < 1 || o.sample > o.nodes {
		fmt.Fprintf(stderr, "-sample %d: must be between 1 and n (%d)\n", o.sample, o.nodes)
		return 2
	}

	if o.timeout <= 0 {
		o.timeout = defaultTimeout(o.nodes, o.observe)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	spec := composeSpec{Nodes: o.nodes, NAT: o.nat}
	if cmd == "compose" {
		if err := writeCompose(stdout, spec); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	compose, err := findCompose(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	d := &dockerCLI{compose: compose, workDir: o.workDir}
	switch cmd {
	case "up":
		err = up(ctx, d, spec, o, stdout)
		if err == nil {
			fmt.Fprintf(stdout, "testnet up: seed and %d nodes on network %s. Try:\n"+
				"  docker exec %s %s nodes\n  make testnet-down\n", o.nodes, networkName, containerName(nodeService(1)), binary)
		}
	case "down":
		err = down(ctx, d, stdout)
	case "check":
		if !check(ctx, d, spec, o, stdout) {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// up builds the image, writes the compose files and starts the seed and
// the nodes, waiting until every control API answers.
func up(ctx context.Context, d *dockerCLI, spec composeSpec, o options, out io.Writer) error {
	bins := map[string]string{"kadnode": o.binary}
	if spec.NAT {
		bins["natrouter"] = o.router
	}
	for _, bin := range bins {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("static binary %s not found (%v): run `make static` first", bin, err)
		}
	}
	// Every container is a network namespace of this kernel, and they all
	// share its neighbour (ARP) table: past gc_thresh3 (1,024 by default)
	// the kernel silently drops packets to new neighbours, which looks
	// exactly like a network that does not converge.
	if msg, err := netns.EnsureNeighbourTable(len(spec.services())); err != nil {
		return err
	} else if msg != "" {
		fmt.Fprintf(out, "    %s\n", msg)
	}
	imgDir := filepath.Join(d.workDir, "image")
	if err := os.RemoveAll(imgDir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(imgDir, "data"), 0o755); err != nil {
		return err
	}
	for name, bin := range bins {
		if err := copyFile(bin, filepath.Join(imgDir, name), 0o755); err != nil {
			return err
		}
	}
	if !spec.NAT {
		// The Dockerfile copies the router too; an empty file stands in.
		if err := os.WriteFile(filepath.Join(imgDir, "natrouter"), nil, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(imgDir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	if _, err := d.docker(ctx, "build", "-q", "-t", image, imgDir); err != nil {
		return err
	}
	fmt.Fprintf(out, "    built image %s from %s\n", image, o.binary)

	// compose would reuse a network left from an earlier testnet as it
	// is, without the subnet the NAT case's fixed addresses need.
	for _, name := range []string{networkName, lanNetworkName} {
		if _, err := d.docker(ctx, "network", "inspect", name); err == nil {
			return fmt.Errorf("network %s is left from an earlier testnet and could not be removed: "+
				"remove it with `docker network rm %s` (if docker says it has active endpoints while no container uses it, restart dockerd) and run again", name, name)
		}
	}
	noSeed := spec
	noSeed.NoSeed = map[string]bool{restartTarget: true}
	for file, s := range map[string]composeSpec{composeFileName: spec, noSeedFileName: noSeed} {
		if err := writeComposeFile(filepath.Join(d.workDir, file), s); err != nil {
			return err
		}
	}
	started := append(spec.initial(), spec.natServices()...)
	if _, err := d.composeCmd(ctx, append([]string{"up", "-d"}, started...)...); err != nil {
		return err
	}
	fmt.Fprintf(out, "    started %d containers on network %s\n", len(started), networkName)
	withAPI := spec.initial()
	if spec.NAT {
		withAPI = append(withAPI, natService)
	}
	return d.waitAPI(ctx, withAPI, healthyTimeout)
}

// down removes everything the testnet made: by the compose file when there
// is one, then by the compose project label, so that a half-made testnet
// goes too.
func down(ctx context.Context, d *dockerCLI, out io.Writer) error {
	var errs []error
	if _, err := os.Stat(filepath.Join(d.workDir, composeFileName)); err == nil {
		if _, err := d.composeCmd(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			errs = append(errs, err)
		}
	}
	label := "label=com.docker.compose.project=" + project
	if ids, err := d.docker(ctx, "ps", "-aq", "--filter", label); err == nil && len(ids) > 0 {
		_, err = d.docker(ctx, append([]string{"rm", "-f", "-v"}, fields(ids)...)...)
		errs = append(errs, err)
	}
	if ids, err := d.docker(ctx, "volume", "ls", "-q", "--filter", label); err == nil && len(ids) > 0 {
		_, err = d.docker(ctx, append([]string{"volume", "rm", "-f"}, fields(ids)...)...)
		errs = append(errs, err)
	}
	for _, name := range []string{networkName, lanNetworkName} {
		if _, err := d.docker(ctx, "network", "inspect", name); err == nil {
			_, err = d.docker(ctx, "network", "rm", name)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(out, "    testnet removed (containers, volumes, network)")
	return nil
}

func writeComposeFile(path string, s composeSpec) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeCompose(f, s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// defaultTimeout bounds a command on n nodes that watches the quiet
// network for observe: a fixed part, the watch, and a share per node.
func defaultTimeout(n int, observe time.Duration) time.Duration {
	return checkTimeBase + observe + time.Duration(n)*checkTimePerNode
}
