package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	ucli "github.com/urfave/cli/v2"
)

func lookupCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "lookup",
		Usage:     "find a node by ID, through a running node (--api) or on its own (--seed)",
		ArgsUsage: "TARGET",
		Description: "TARGET is a node ID (40 hex digits). With --seed, runs a short-lived read-only\n" +
			"node with a throwaway key that writes nothing to disk and enters no node's table;\n" +
			"otherwise asks the node at --api. A lookup that completes exits 0 whether or not\n" +
			"it found the target (see \"found\" in --json); 1 means it could not run.",
		Flags: append([]ucli.Flag{
			apiFlag("control API `ADDR` of the node to ask"),
			// No env twin: KADNODE_SEED configures `run`, and having it set
			// must not turn every lookup into a standalone one.
			&ucli.StringSliceFlag{Name: "seed", Usage: "look up on our own, starting from `CONTACT`; repeatable"},
		}, standaloneFlags()...),
		Action: runLookup,
	}
}

func runLookup(c *ucli.Context) error {
	arg, err := oneArg(c, "target node ID")
	if err != nil {
		return err
	}
	target, err := parseTarget(arg)
	if err != nil {
		return err
	}
	seeds, err := parseSeeds(c.StringSlice("seed"))
	if err != nil {
		return err
	}
	ctx, cancel, err := commandContext(c)
	if err != nil {
		return err
	}
	defer cancel()

	prog := startProgress(c.App.ErrWriter, "looking up "+target.String())
	var res lookupJSON
	if len(seeds) > 0 {
		res, err = lookupStandalone(ctx, c, seeds, target, prog)
	} else {
		err = callAPIWith(ctx, c, "GET", "/api/lookup", url.Values{"target": {target.String()}}, &res)
	}
	prog.finish()
	if err != nil {
		return err
	}
	if !res.Found && res.Stats.Responses == 0 {
		// Nobody answered: that is no evidence the target is absent.
		return fmt.Errorf("lookup of %s failed: none of its %d queries was answered (%d timed out); "+
			"the node's contacts may be gone, see its log", target, res.Stats.Queries, res.Stats.Timeouts)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, res)
	}
	return printLookup(c.App.Writer, res)
}

func lookupStandalone(ctx context.Context, c *ucli.Context, seeds []kad.Endpoint, target krpc.ID, prog *progress) (lookupJSON, error) {
	s, err := startStandalone(c, seeds)
	if err != nil {
		return lookupJSON{}, err
	}
	defer s.close()
	prog.set(fmt.Sprintf("contacting %d seed(s)", len(seeds)))
	if err := s.bootstrap(ctx, seeds); err != nil {
		return lookupJSON{}, err
	}
	prog.set("looking up " + target.String())
	r, err := s.node.Lookup(ctx, target)
	if err != nil {
		return lookupJSON{}, rpcFailure("lookup", target.String(), err)
	}
	return toLookupJSON(r), nil
}

// printLookup writes a lookup for a person.
func printLookup(w io.Writer, r lookupJSON) error {
	if r.Found {
		fmt.Fprintf(w, "found %s at %s\n", r.Target, r.Addr)
	} else {
		fmt.Fprintf(w, "not found: %s\n", r.Target)
	}
	fmt.Fprintf(w, "\n%d closest:\n", len(r.Closest))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tBUCKET\tRTT")
	for _, c := range r.Closest {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f ms\n", c.ID, c.Addr, bucketLabel(c.Bucket), c.RTTMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Stats
	_, err := fmt.Fprintf(w, "\n%d queries, %d responses, %d timeouts, %d rounds in %.1f ms\n",
		s.Queries, s.Responses, s.Timeouts, s.Rounds, s.DurationMs)
	return err
}

// bucketLabel shows the XOR-distance bucket, or that it is the target.
func bucketLabel(b int) string {
	if b < 0 {
		return "target"
	}
	return fmt.Sprint(b)
}
