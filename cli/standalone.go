package cli

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	ucli "github.com/urfave/cli/v2"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
	"github.com/kadnode/kadnode/node/stack"
)

// standalone is a short-lived read-only node for client commands run
// without a daemon: a fresh in-memory identity and an in-memory store, so
// nothing is written to disk, and BEP 43's read-only flag, so no node puts
// it in its table. Errors closing a throwaway node are not worth reporting.
type standalone struct {
	nodeStack
	network string // --network, named when no seed answers
}

// startStandalone starts a read-only node with an empty table, bound to
// the address family of the contacts it is to reach, on the command's
// --network and logging as its --log-level and --log-format say.
func startStandalone(c *ucli.Context, reach []kad.Endpoint) (_ *standalone, err error) {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return nil, err
	}
	network := c.String("network")
	s := &standalone{network: network}
	defer func() {
		if err != nil {
			_ = s.close()
		}
	}()
	// No Seeds: the node counts as joined at once; bootstrap adds the seeds
	// itself, so that a seed that does not answer is reported at once
	// instead of being retried in the background.
	st, err := stack.Open(stack.Config{Network: network, Listen: standaloneListen(reach), Node: node.Config{ReadOnly: true}, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("read-only node: %w", err)
	}
	s.nodeStack = nodeStack{store: st.Store, tr: st.Transport, node: st.Node}
	s.node.Start()
	return s, nil
}

// bootstrap pings every seed at once and puts those that answer in the
// table; it fails when none answered, saying why for each.
func (s *standalone) bootstrap(ctx context.Context, seeds []kad.Endpoint) error {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers int
		reasons []string
	)
	for _, seed := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.node.Add(ctx, seed)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				reasons = append(reasons, fmt.Sprintf("%s: %s", seed, rpcProblem(err)))
				return
			}
			answers++
		}()
	}
	wg.Wait()
	if answers > 0 {
		return nil
	}
	return fmt.Errorf("no seed answered (%s); check that a kadnode runs at each seed with --network %q",
		strings.Join(reasons, "; "), s.network)
}

// standaloneListen is an ephemeral port of the contacts' address family.
func standaloneListen(reach []kad.Endpoint) string {
	for _, c := range reach {
		if ip, err := netip.ParseAddr(c.Host); err == nil && ip.Is6() && !ip.Is4In6() {
			return "[::]:0"
		}
	}
	return "0.0.0.0:0"
}
