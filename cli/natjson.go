package cli

import "github.com/kadnode/kadnode/node"

// natJSON is the node's reachability in GET /api/self; absent when NAT
// handling is off.
type natJSON struct {
	Reachability     string `json:"reachability,omitempty"`
	ReachabilityWhy  string `json:"reachability_reason,omitempty"`
	ClientMode       bool   `json:"client_mode,omitempty"`
	ClientModeReason string `json:"client_mode_reason,omitempty"`
}

func toNATJSON(s node.NATStats) natJSON {
	if !s.Enabled {
		return natJSON{}
	}
	return natJSON{
		Reachability: string(s.Reachability), ReachabilityWhy: s.Reason,
		ClientMode: s.ClientMode, ClientModeReason: s.ClientModeReason,
	}
}
