package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dockerCLI runs docker and compose commands, each bounded in time.
type dockerCLI struct {
	compose []string // "docker-compose", or "docker compose" when that is what exists
	workDir string   // holds the generated compose files
}

// findCompose prefers the compose plugin and falls back to the standalone
// docker-compose; it says what to install when neither answers.
func findCompose(ctx context.Context) ([]string, error) {
	for _, c := range [][]string{{"docker", "compose"}, {"docker-compose"}} {
		args := append(append([]string{}, c[1:]...), "version")
		if err := exec.CommandContext(ctx, c[0], args...).Run(); err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("neither `docker compose` nor `docker-compose` works: install Docker Compose (v1.28+ or the v2 plugin)")
}

// run runs one command, bounded by apiExecTO, and returns its stdout; the
// error carries stderr.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return runWithin(ctx, apiExecTO, name, args...)
}

// runWithin is run with its own bound.
func runWithin(ctx context.Context, bound time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), composeEnv...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

func (d *dockerCLI) docker(ctx context.Context, args ...string) ([]byte, error) {
	return run(ctx, "docker", args...)
}

// composeWith runs a compose command on the given generated file.
func (d *dockerCLI) composeWith(ctx context.Context, file string, args ...string) ([]byte, error) {
	full := append(append([]string{}, d.compose[1:]...),
		"-f", filepath.Join(d.workDir, file), "-p", project)
	return runWithin(ctx, composeExecTO, d.compose[0], append(full, args...)...)
}

// composeEnv lets compose wait for a daemon that is slow to answer while
// it starts a hundred containers (docker-compose v1 gives up after 60 s),
// and lifts its parallel limit above the number of services: at or below
// the number of services that depend on the seed (its default is 64),
// docker-compose v1 deadlocks with every slot held by a waiting dependent.
var composeEnv = []string{
	"COMPOSE_HTTP_TIMEOUT=" + strconv.Itoa(int(composeExecTO.Seconds())),
	"DOCKER_CLIENT_TIMEOUT=" + strconv.Itoa(int(composeExecTO.Seconds())),
	"COMPOSE_PARALLEL_LIMIT=" + strconv.Itoa(4*maxNodes),
}

func (d *dockerCLI) composeCmd(ctx context.Context, args ...string) ([]byte, error) {
	return d.composeWith(ctx, composeFileName, args...)
}

// kadnode runs the kadnode binary inside a service's container.
func (d *dockerCLI) kadnode(ctx context.Context, service string, args ...string) ([]byte, error) {
	full := append([]string{"exec", containerName(service), binary}, args...)
	return d.docker(ctx, full...)
}

// ip is a service's address on the testnet network; it can change when a
// container is recreated or reconnected.
func (d *dockerCLI) ip(ctx context.Context, service string) (netip.Addr, error) {
	format := fmt.Sprintf("{{with index .NetworkSettings.Networks %q}}{{.IPAddress}}{{end}}", networkName)
	out, err := d.docker(ctx, "inspect", "-f", format, containerName(service))
	if err != nil {
		return netip.Addr{}, err
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return netip.Addr{}, fmt.Errorf("%s is not attached to network %s", service, networkName)
	}
	return netip.ParseAddr(s)
}

// logs is the tail of a service's log, for a failed step's report.
func (d *dockerCLI) logs(ctx context.Context, service string) string {
	out, err := run(ctx, "docker", "logs", "--tail", logTailOnFailure, containerName(service))
	if err != nil {
		return err.Error()
	}
	return string(out)
}

// running reports whether a service's container is running.
func (d *dockerCLI) running(ctx context.Context, service string) bool {
	out, err := d.docker(ctx, "inspect", "-f", "{{.State.Running}}", containerName(service))
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// waitAPI waits until each service's control API answers.
func (d *dockerCLI) waitAPI(ctx context.Context, services []string, timeout time.Duration) error {
	return pollEvery(ctx, apiPollInterval, timeout, func() (bool, string) {
		var down []string
		for _, s := range services {
			if _, err := d.table(ctx, s); err != nil {
				down = append(down, s)
			}
		}
		return len(down) == 0, fmt.Sprintf("control API not answering on %v", down)
	})
}

// poll calls cond every pollInterval until it holds, ctx ends or timeout
// passes; the error carries cond's last explanation.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, string)) error {
	return pollEvery(ctx, pollInterval, timeout, cond)
}

func pollEvery(ctx context.Context, every, timeout time.Duration, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("still not done after %v: %s", timeout, why)
		case <-t.C:
		}
	}
}

func fields(b []byte) []string { return strings.Fields(string(b)) }
