package cli

import (
	"strings"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// parseTarget parses a node ID given on the command line or to the API.
func parseTarget(s string) (krpc.ID, error) {
	if s == "" {
		return krpc.ID{}, usageErrorf("no target ID given; a node ID is 40 hex digits, as printed by `kadnode id`")
	}
	id, err := kad.ParseID(s)
	if err != nil {
		return krpc.ID{}, usageErrorf("%v (`kadnode id` prints a node's ID)", err)
	}
	if id.IsZero() {
		// KRPC omits zero IDs, so find_node cannot carry this target.
		return krpc.ID{}, usageErrorf("the all-zero ID cannot be looked up: find_node cannot carry it; use another target")
	}
	return id, nil
}

// parseContact parses a contact string given on the command line or to the API.
func parseContact(s string) (kad.Endpoint, error) {
	if s == "" {
		return kad.Endpoint{}, usageErrorf("no contact given; a contact is ID@host:port (as printed by `kadnode run`) or host:port")
	}
	c, err := kad.ParseEndpoint(s)
	if err != nil {
		return kad.Endpoint{}, usageErrorf("%v (`kadnode run` prints its contact)", err)
	}
	return c, nil
}

// parseSeeds parses every --seed value, skipping blank ones so that an
// empty KADNODE_SEED or a trailing comma means no seed.
func parseSeeds(ss []string) ([]kad.Endpoint, error) {
	var out []kad.Endpoint
	for _, s := range ss {
		if strings.TrimSpace(s) == "" {
			continue
		}
		c, err := parseContact(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
