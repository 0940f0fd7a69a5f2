package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// stepLateJoin stops the seed and starts a node whose only seed is node1.
func (c *checker) stepLateJoin(ctx context.Context) error {
	if _, err := c.d.composeCmd(ctx, "stop", "-t", "10", seedService); err != nil {
		return err
	}
	c.logf("seed stopped")
	if _, err := c.d.composeCmd(ctx, "up", "-d", "--no-deps", lateService); err != nil {
		return err
	}
	if err := c.d.waitAPI(ctx, []string{lateService}, healthyTimeout); err != nil {
		return err
	}
	self, err := c.d.self(ctx, lateService)
	if err != nil {
		return err
	}
	c.ids[lateService] = self.ID
	last := c.spec.initial()[len(c.spec.initial())-1]
	err = poll(ctx, stepTimeout, func() (bool, string) {
		if self, err := c.d.self(ctx, lateService); err != nil || !self.Joined {
			return false, fmt.Sprintf("%s has not joined (%v)", lateService, err)
		}
		if _, err := c.lookupFinds(ctx, lateService, nodeService(2)); err != nil {
			return false, err.Error()
		}
		if _, err := c.lookupFinds(ctx, last, lateService); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	c.logf("%s joined through %s; it finds %s and %s finds it", lateService, nodeService(1), nodeService(2), last)
	return nil
}

// stepRestartNoSeed recreates restartTarget from its volume with a command
// that names no seed, checks that its table came back whole, and that it is
// found again.
func (c *checker) stepRestartNoSeed(ctx context.Context) error {
	t := restartTarget
	before, err := c.d.table(ctx, t)
	if err != nil {
		return err
	}
	if _, err := c.d.composeWith(ctx, noSeedFileName, "up", "-d", "--no-deps", "--force-recreate", t); err != nil {
		return err
	}
	cmd, err := c.d.docker(ctx, "inspect", "-f", "{{json .Config.Cmd}}", containerName(t))
	if err != nil {
		return err
	}
	if strings.Contains(string(cmd), "--seed") {
		return fmt.Errorf("%s was recreated with command %s: still has a seed", t, strings.TrimSpace(string(cmd)))
	}
	c.logf("%s recreated with command %s", t, strings.TrimSpace(string(cmd)))
	if err := c.d.waitAPI(ctx, []string{t}, healthyTimeout); err != nil {
		return err
	}
	after, err := c.d.table(ctx, t)
	if err != nil {
		return err
	}
	if lost := c.lost(before, after); len(lost) > 0 {
		return fmt.Errorf("%s lost %d of %d contacts over the restart: %v", t, len(lost), len(bucketIDs(before)), lost)
	}
	self, err := c.d.self(ctx, t)
	if err != nil {
		return err
	}
	if self.ID != c.ids[t] {
		return fmt.Errorf("%s came back as %s, was %s: the key on its volume was not used", t, self.ID, c.ids[t])
	}
	c.logf("table restored: all %d contacts kept (seed aside)", len(bucketIDs(before)))
	other := nodeService(1)
	err = poll(ctx, stepTimeout, func() (bool, string) {
		if self, err := c.d.self(ctx, t); err != nil || !self.Joined {
			return false, fmt.Sprintf("%s has not rejoined (%v)", t, err)
		}
		if _, err := c.lookupFinds(ctx, other, t); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	c.logf("%s rejoined without seeds; %s finds it", t, other)
	return nil
}

// lost lists the bucket contacts of before that after lacks, leaving out
// the seed, which is down by now and may rightly have been evicted.
func (c *checker) lost(before, after []nodeJSON) []string {
	have := bucketIDs(after)
	var out []string
	for id := range bucketIDs(before) {
		if _, ok := have[id]; !ok && id != c.ids[seedService] {
			out = append(out, c.name(id))
		}
	}
	slices.Sort(out)
	return out
}

// name is the service with node ID id, or the ID itself.
func (c *checker) name(id string) string {
	for s, v := range c.ids {
		if v == id {
			return s
		}
	}
	return id
}

// stepDisconnect cuts disconnectTarget off the network and waits until no
// other node keeps it in a bucket. Each round, the nodes that still hold it
// look it up, so every holder keeps querying it and counting failures as a
// node in use would; revalidation alone takes longer, and meanwhile the
// cut-off node, failing to reach anyone, evicts its own contacts.
func (c *checker) stepDisconnect(ctx context.Context) error {
	t, id := disconnectTarget, c.ids[disconnectTarget]
	others := slices.DeleteFunc(c.live(ctx), func(s string) bool { return s == t })
	tables, err := c.tables(ctx, others)
	if err != nil {
		return err
	}
	held := holders(tables, id, t)
	if len(held) == 0 {
		return fmt.Errorf("no node holds %s before the disconnect: nothing to evict", t)
	}
	if _, err := c.d.docker(ctx, "network", "disconnect", networkName, containerName(t)); err != nil {
		return err
	}
	c.disconnected = true
	c.logf("%s disconnected; %d nodes hold it: %v", t, len(held), held)
	start := time.Now()
	err = poll(ctx, stepTimeout, func() (bool, string) {
		tables, err := c.tables(ctx, others)
		if err != nil {
			return false, err.Error()
		}
		still := holders(tables, id, t)
		if len(still) == 0 {
			return true, ""
		}
		c.lookupAll(ctx, still, id)
		return false, fmt.Sprintf("still in the buckets of %v", still)
	})
	if err != nil {
		return err
	}
	c.logf("evicted by all %d holders after %.0fs (each round its holders looked it up)", len(held), time.Since(start).Seconds())
	return nil
}

// lookupAll has each of svcs look up id at once; the outcome does not
// matter, only that the lookups query the nodes near id.
func (c *checker) lookupAll(ctx context.Context, svcs []string, id string) {
	var wg sync.WaitGroup
	for _, s := range svcs {
		wg.Go(func() { _, _ = c.d.lookup(ctx, s, id) })
	}
	wg.Wait()
}

// stepReconnect puts disconnectTarget back on the network and waits until,
// after its next lookup, others hold it at its (possibly new) address.
func (c *checker) stepReconnect(ctx context.Context) error {
	t, id := disconnectTarget, c.ids[disconnectTarget]
	if !c.disconnected {
		return fmt.Errorf("%w: %s was never disconnected", errSkipped, t)
	}
	if _, err := c.d.docker(ctx, "network", "connect", "--alias", t, networkName, containerName(t)); err != nil {
		return err
	}
	addr, err := c.addr(ctx, t)
	if err != nil {
		return err
	}
	c.logf("%s reconnected at %s", t, addr)
	own, err := c.d.table(ctx, t)
	if err != nil {
		return err
	}
	if len(bucketIDs(own)) == 0 {
		return fmt.Errorf("%s's own table is empty after the disconnect: it evicted every contact while cut off, so it cannot rejoin without a seed", t)
	}
	others := slices.DeleteFunc(c.live(ctx), func(s string) bool { return s == t })
	round := 0
	err = poll(ctx, stepTimeout, func() (bool, string) {
		// The node's next lookup: any target will do; take a different one
		// each round.
		target := c.ids[others[round%len(others)]]
		round++
		if _, err := c.d.lookup(ctx, t, target); err != nil {
			return false, fmt.Sprintf("%s's lookup: %v", t, err)
		}
		tables, err := c.tables(ctx, others)
		if err != nil {
			return false, err.Error()
		}
		h := holders(tables, id, t)
		if len(h) == 0 {
			return false, fmt.Sprintf("%s is in no other node's buckets", t)
		}
		if got := bucketIDs(tables[h[0]])[id]; got != addr.String() {
			return false, fmt.Sprintf("%s holds %s at %s, want %s", h[0], t, got, addr)
		}
		if _, err := c.lookupFinds(ctx, nodeService(1), t); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	c.logf("%s is back in tables after %d lookup(s) of its own; %s finds it at %s", t, round, nodeService(1), addr)
	return nil
}

// stepRestartAll restarts every running node, restartBatch at a time so
// that the others stay up and nothing a node held goes stale while it is
// down, and checks
// that each table came back with every contact it had; then that lookups
// still find everyone.
func (c *checker) stepRestartAll(ctx context.Context) error {
	svcs := c.live(ctx)
	var problems []string
	kept := 0
	for batch := range slices.Chunk(svcs, restartBatch) {
		before, err := c.tables(ctx, batch)
		if err != nil {
			return err
		}
		if err := c.restart(ctx, batch); err != nil {
			return err
		}
		if err := c.d.waitAPI(ctx, batch, healthyTimeout); err != nil {
			return err
		}
		after, err := c.tables(ctx, batch)
		if err != nil {
			return err
		}
		for _, s := range batch {
			if lost := c.lost(before[s], after[s]); len(lost) > 0 {
				problems = append(problems, fmt.Sprintf("%s lost %v", s, lost))
			}
			kept += len(bucketIDs(before[s]))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("tables changed over the restart:\n%s", strings.Join(problems, "\n"))
	}
	c.logf("%d nodes restarted, %d at a time; all %d table entries kept", len(svcs), restartBatch, kept)
	nodes, err := c.reach(ctx, svcs)
	if err != nil {
		return err
	}
	errs := make([]error, len(svcs))
	forEachBounded(len(svcs), lookupWorkers, func(i int) {
		from, to := nodes[svcs[i]], nodes[svcs[(i+1)%len(svcs)]]
		errs[i] = poll(ctx, stepTimeout, func() (bool, string) {
			if _, err := c.lookupVia(ctx, from, to); err != nil {
				return false, err.Error()
			}
			return true, ""
		})
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lookups after the restarts failed:\n%v", err)
	}
	c.logf("each node found the next one after the restarts")
	return nil
}

// restart restarts the services' containers at once (SIGTERM, so each node
// syncs its store).
func (c *checker) restart(ctx context.Context, svcs []string) error {
	errs := make([]error, len(svcs))
	var wg sync.WaitGroup
	for i, s := range svcs {
		wg.Go(func() { _, errs[i] = c.d.docker(ctx, "restart", "-t", "10", containerName(s)) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
