package cli

import (
	"context"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/wire"
)

func idCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "id",
		Usage: "print this machine's node ID (creating the node key if absent)",
		Description: "With --json, also prints the contact string when the node runs and its\n" +
			"control API at --api answers.",
		Flags: append([]ucli.Flag{
			dataDirFlag(),
			jsonFlag(),
			apiFlag("control API `ADDR` to ask for the contact string (--json)"),
		}, apiAuthFlags()...),
		Action: runID,
	}
}

func runID(c *ucli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	dir, err := dataDir(c)
	if err != nil {
		return err
	}
	id, err := wire.LoadOrCreateIdentity(dir)
	if err != nil {
		return identityError(dir, err)
	}
	if !c.Bool("json") {
		_, err = fmt.Fprintln(c.App.Writer, id.ID)
		return err
	}
	out := selfJSON{ID: id.ID.String()}
	// Best effort: the contact only when the node with this key answers.
	if api, err := newAPIClient(c); err == nil {
		ctx, cancel := context.WithTimeout(c.Context, idAPITimeout)
		var self selfJSON
		if api.call(ctx, "GET", "/api/self", nil, &self) == nil && self.ID == out.ID {
			out = self
		}
		cancel()
	}
	return printJSON(c.App.Writer, out)
}

func nodesCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "nodes",
		Usage: "list the running node's routing table",
		Flags: append([]ucli.Flag{
			apiFlag("control API `ADDR` of the node"),
			jsonFlag(),
			timeoutFlag(),
		}, apiAuthFlags()...),
		Action: runNodes,
	}
}

func runNodes(c *ucli.Context) error {
	if err := noArgs(c); err != nil {
		return err
	}
	var nodes []nodeJSON
	if err := callAPI(c, "GET", "/api/nodes", nil, &nodes); err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, nodes)
	}
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tBUCKET\tLAST SEEN\tSTATE")
	now := time.Now()
	for _, n := range nodes {
		seen := "never"
		if !n.LastSeen.IsZero() {
			seen = roundDuration(now.Sub(n.LastSeen)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", n.ID, n.Addr, n.Bucket, seen, n.State)
	}
	return tw.Flush()
}

func pingCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "ping",
		Usage:     "ping a node and print its authenticated ID and round-trip time",
		ArgsUsage: "CONTACT",
		Description: "CONTACT is ID@host:port or host:port. With --api (or KADNODE_API), the running\n" +
			"node pings; otherwise a short-lived read-only node with a throwaway key does.",
		Flags: append([]ucli.Flag{
			apiFlag("ping through the node with control API `ADDR`"),
		}, standaloneFlags()...),
		Action: runPing,
	}
}

func runPing(c *ucli.Context) error {
	arg, err := oneArg(c, "contact (ID@host:port or host:port)")
	if err != nil {
		return err
	}
	contact, err := parseContact(arg)
	if err != nil {
		return err
	}
	var out peerJSON
	if c.IsSet("api") {
		err = callAPI(c, "POST", "/api/ping", url.Values{"contact": {arg}}, &out)
	} else {
		out, err = pingStandalone(c, contact)
	}
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, out)
	}
	_, err = fmt.Fprintf(c.App.Writer, "%s answered from %s in %.1f ms\n", out.ID, out.Addr, out.RTTMs)
	return err
}

func pingStandalone(c *ucli.Context, contact kad.Endpoint) (peerJSON, error) {
	ctx, cancel, err := commandContext(c)
	if err != nil {
		return peerJSON{}, err
	}
	defer cancel()
	s, err := startStandalone(c, []kad.Endpoint{contact})
	if err != nil {
		return peerJSON{}, err
	}
	defer s.close()
	p, rtt, err := s.node.Ping(ctx, contact)
	if err != nil {
		return peerJSON{}, rpcFailure("ping", contact.String(), err)
	}
	return toPeerJSON(p, rtt), nil
}

func addCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "add",
		Usage:     "have the running node ping a contact and add it to its table if it answers",
		ArgsUsage: "CONTACT",
		Flags: append([]ucli.Flag{
			apiFlag("control API `ADDR` of the node"),
			jsonFlag(),
			timeoutFlag(),
		}, apiAuthFlags()...),
		Action: runAdd,
	}
}

func runAdd(c *ucli.Context) error {
	arg, err := oneArg(c, "contact (ID@host:port or host:port)")
	if err != nil {
		return err
	}
	if _, err := parseContact(arg); err != nil {
		return err
	}
	var out peerJSON
	if err := callAPI(c, "POST", "/api/add", url.Values{"contact": {arg}}, &out); err != nil {
		return err
	}
	if c.Bool("json") {
		err = printJSON(c.App.Writer, out)
	} else {
		_, err = fmt.Fprintf(c.App.Writer, "added %s (%s)\n", out.Contact, out.State)
	}
	if err == nil && out.Persisted != nil && !*out.Persisted {
		// The node took the contact, but a restart would lose it: a
		// script must not take that for success.
		err = fmt.Errorf("warning: %s is in the node's table but was not saved (%s); "+
			"it is lost if the node restarts before the store recovers", out.Contact, out.Warning)
	}
	return err
}

// callAPI runs one control API request of a client command under --timeout.
func callAPI(c *ucli.Context, method, path string, query url.Values, out any) error {
	ctx, cancel, err := commandContext(c)
	if err != nil {
		return err
	}
	defer cancel()
	return callAPIWith(ctx, c, method, path, query, out)
}

// callAPIWith runs one control API request under ctx.
func callAPIWith(ctx context.Context, c *ucli.Context, method, path string, query url.Values, out any) error {
	api, err := newAPIClient(c)
	if err != nil {
		return err
	}
	return api.call(ctx, method, path, query, out)
}

// commandContext bounds a client command by --timeout.
func commandContext(c *ucli.Context) (context.Context, context.CancelFunc, error) {
	d, err := positiveDuration(c, "timeout")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(c.Context, d)
	return ctx, cancel, nil
}
