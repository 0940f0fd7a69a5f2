package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kadnode/kadnode/testnet"
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
			client, err := c.d.apiClient(ctx, s)
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
