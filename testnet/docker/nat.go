package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
)

// selfNATJSON is the part of GET /api/self the NAT step reads.
type selfNATJSON struct {
	ID           string `json:"id"`
	Reachability string `json:"reachability"`
	External     string `json:"external"`
}

// stepNAT is the cone-NAT case: the node behind the router finds out it
// sits behind a NAT, a public node finds it by lookup at the router's
// address and pings it there (through a punch, as nobody else may send to
// it unasked), and then holds it in its table.
func (c *checker) stepNAT(ctx context.Context) error {
	var self selfNATJSON
	err := poll(ctx, natClassifyTime, func() (bool, string) {
		if err := c.d.apiJSON(ctx, natService, "/api/self", &self); err != nil {
			return false, err.Error()
		}
		return self.Reachability == "nat", fmt.Sprintf("%s reports reachability %q, want nat", natService, self.Reachability)
	})
	if err != nil {
		return err
	}
	routerIP, err := c.d.ip(ctx, routerService)
	if err != nil {
		return err
	}
	c.logf("%s (%s) classified itself nat; external address %s, router at %s", natService, natNodeIP, self.External, routerIP)

	from := nodeService(1)
	l, err := c.d.lookup(ctx, from, self.ID)
	switch {
	case err != nil:
		return fmt.Errorf("%s → %s: %v", from, natService, err)
	case !l.Found:
		return fmt.Errorf("%s → %s: not found (%d queries, %d timeouts)", from, natService, l.Stats.Queries, l.Stats.Timeouts)
	}
	found, err := netip.ParseAddrPort(l.Addr)
	if err != nil || found.Addr() != routerIP {
		return fmt.Errorf("%s → %s: found at %q, want the router's address %s", from, natService, l.Addr, routerIP)
	}
	if out, err := c.d.kadnode(ctx, from, "ping", self.ID+"@"+l.Addr, "--api", apiAddr); err != nil {
		return fmt.Errorf("%s could not ping %s at %s after finding it: %v %s", from, natService, l.Addr, err, strings.TrimSpace(string(out)))
	}
	// In its bucket, or in the replacement cache when the bucket is full
	// of good contacts (BEP 5): either way the table has it, as natlab's
	// cone test asks.
	var state string
	err = poll(ctx, stepTimeout, func() (bool, string) {
		t, err := c.d.table(ctx, from)
		if err != nil {
			return false, err.Error()
		}
		for _, e := range t {
			if e.ID == self.ID {
				state = e.State
				return true, ""
			}
		}
		return false, from + " reached " + natService + " but does not hold it in its table"
	})
	if err != nil {
		return err
	}
	c.logf("%s found %s at %s (%d queries, %d timeouts), pinged it there, and holds it (%s)",
		from, natService, l.Addr, l.Stats.Queries, l.Stats.Timeouts, state)
	return nil
}
