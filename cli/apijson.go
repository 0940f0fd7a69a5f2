package cli

import (
	"net/netip"
	"time"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// The JSON shapes below are shared by the control API and the --json output
// of the client commands; their field names are part of the command contract.

// selfJSON describes the running node (GET /api/self, `kadnode id --json`).
type selfJSON struct {
	ID       string    `json:"id"`
	Contact  string    `json:"contact,omitempty"`
	Listen   string    `json:"listen,omitempty"`
	External string    `json:"external,omitempty"`
	Network  string    `json:"network,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	UptimeS  float64   `json:"uptime_s,omitempty"`
	Joined   bool      `json:"joined"`
	natJSON
}

// nodeJSON is one routing-table entry (GET /api/nodes, `kadnode nodes --json`).
type nodeJSON struct {
	ID       string    `json:"id"`
	Addr     string    `json:"addr"`
	Bucket   int       `json:"bucket"`
	LastSeen time.Time `json:"last_seen"`
	State    string    `json:"state"`
}

// lookupJSON is one lookup's outcome (GET /api/lookup, `kadnode lookup --json`).
type lookupJSON struct {
	Target  string          `json:"target"`
	Found   bool            `json:"found"`
	Addr    string          `json:"addr"`
	Closest []closestJSON   `json:"closest"`
	Stats   lookupStatsJSON `json:"stats"`
}

// closestJSON is one of the closest nodes a lookup reached; Bucket is the
// XOR-distance bucket to the target (-1 for the target itself).
type closestJSON struct {
	ID     string  `json:"id"`
	Addr   string  `json:"addr"`
	Bucket int     `json:"bucket"`
	RTTMs  float64 `json:"rtt_ms"`
}

type lookupStatsJSON struct {
	Queries    int     `json:"queries"`
	Responses  int     `json:"responses"`
	Timeouts   int     `json:"timeouts"`
	Rounds     int     `json:"rounds"`
	DurationMs float64 `json:"duration_ms"`
}

// peerJSON is the answer to a ping or an add; State is where an added
// contact sits ("bucket" or "replacement").
type peerJSON struct {
	ID      string  `json:"id"`
	Addr    string  `json:"addr"`
	Contact string  `json:"contact"`
	RTTMs   float64 `json:"rtt_ms,omitempty"`
	State   string  `json:"state,omitempty"`
	// Persisted says whether an added contact reached the store; false
	// means it is in the table in memory only, and Warning says why.
	Persisted *bool  `json:"persisted,omitempty"`
	Warning   string `json:"warning,omitempty"`
}

// errorJSON is the body of every failed control API request.
type errorJSON struct {
	Error string `json:"error"`
}

func toSelfJSON(s node.SelfInfo, network string, now time.Time) selfJSON {
	return selfJSON{
		ID:       s.ID.String(),
		Contact:  contactOf(s),
		Listen:   addrString(s.Listen),
		External: addrString(s.External),
		Network:  network,
		Started:  s.Started,
		UptimeS:  now.Sub(s.Started).Seconds(),
		Joined:   s.Joined,
		natJSON:  toNATJSON(s.NAT),
	}
}

func toNodesJSON(cs []node.ContactStatus) []nodeJSON {
	out := make([]nodeJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, nodeJSON{
			ID:       c.ID.String(),
			Addr:     c.Addr.String(),
			Bucket:   c.Bucket,
			LastSeen: c.LastSeen.UTC(),
			State:    c.State,
		})
	}
	return out
}

func toLookupJSON(r node.LookupResult) lookupJSON {
	out := lookupJSON{
		Target:  r.Target.String(),
		Found:   r.Found,
		Closest: make([]closestJSON, 0, len(r.Closest)),
		Stats: lookupStatsJSON{
			Queries:    r.Stats.Queries,
			Responses:  r.Stats.Responses,
			Timeouts:   r.Stats.Timeouts,
			Rounds:     r.Stats.Rounds,
			DurationMs: millis(r.Stats.Duration),
		},
	}
	if r.Found {
		out.Addr = r.Addr.String()
	}
	for _, c := range r.Closest {
		out.Closest = append(out.Closest, closestJSON{
			ID:     c.ID.String(),
			Addr:   c.Addr.String(),
			Bucket: node.BucketIndex(r.Target, c.ID),
			RTTMs:  millis(c.RTT),
		})
	}
	return out
}

func toPeerJSON(p kad.Peer, rtt time.Duration) peerJSON {
	return peerJSON{
		ID:      p.ID.String(),
		Addr:    p.Addr.String(),
		Contact: kad.EndpointString(p.ID, p.Addr),
		RTTMs:   millis(rtt),
	}
}

func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func addrString(a netip.AddrPort) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
