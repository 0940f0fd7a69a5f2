package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/testnet/netns"
)

// stepQuiet watches the network, with no fault injected, for o.observe
// and checks what a real network of separate hosts must show: every node
// joined within maxJoinTime of its start, no contact was evicted anywhere
// (every node stays up, so any eviction is false), and handshake timeouts
// stay under maxTimeoutShare of the handshakes.
func (c *checker) stepQuiet(ctx context.Context) error {
	c.logf("watching the quiet network for %v", c.o.observe)
	select {
	case <-time.After(c.o.observe):
	case <-ctx.Done():
		return ctx.Err()
	}
	v, err := c.convergence(ctx, c.spec.initial())
	if err != nil {
		return err
	}
	c.logf("%s", v)
	if problems := v.Problems(maxJoinTime, maxTimeoutShare); len(problems) > 0 {
		return fmt.Errorf("the quiet network did not converge: %s", strings.Join(problems, "; "))
	}
	return nil
}

// convergence reads every service's metrics in parallel.
func (c *checker) convergence(ctx context.Context, svcs []string) (*testnet.Convergence, error) {
	v := testnet.NewConvergence()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for _, s := range svcs {
		wg.Go(func() {
			client, err := c.apiClient(ctx, s)
			if err == nil {
				m, merr := testnet.ReadMetrics(ctx, client, "http://"+apiAddr+"/metrics")
				if merr == nil {
					mu.Lock()
					v.Add(s, m, s == seedService)
					mu.Unlock()
					return
				}
				err = fmt.Errorf("%s: %w", s, merr)
			}
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return v, firstErr
}

// apiClient is an HTTP client for a service's control API. The API listens
// on the container's loopback only, so the client dials from inside the
// container's network namespace (the check runs as root, as docker does).
func (c *checker) apiClient(ctx context.Context, service string) (*http.Client, error) {
	out, err := c.d.docker(ctx, "inspect", "-f", "{{.State.Pid}}", containerName(service))
	if err != nil {
		return nil, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		return nil, fmt.Errorf("%s: no running process (pid %q)", service, strings.TrimSpace(string(out)))
	}
	return netns.HTTPClient(netns.OfProcess(pid), apiExecTO), nil
}
