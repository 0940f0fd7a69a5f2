package sim

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// NATMix is the share of nodes of each kind; the shares add up to 1.
type NATMix struct {
	Public, Cone, Symmetric float64
}

// Validate checks that the shares are usable: some public, adding up to 1.
func (m NATMix) Validate() error {
	sum := m.Public + m.Cone + m.Symmetric
	if m.Public <= 0 || m.Cone < 0 || m.Symmetric < 0 || math.Abs(sum-1) > 1e-9 {
		return fmt.Errorf("sim: NAT shares %.3f public, %.3f cone, %.3f symmetric must be non-negative, with some public, and add up to 1", m.Public, m.Cone, m.Symmetric)
	}
	return nil
}

// draw picks a kind with the mix's probabilities.
func (m NATMix) draw(rng *rand.Rand) NATKind {
	x := rng.Float64()
	switch {
	case x < m.Public:
		return Public
	case x < m.Public+m.Cone:
		return Cone
	}
	return Symmetric
}

// NATExperimentConfig describes a NAT measurement: a cluster with a NAT
// mix, a settling time in which nodes classify themselves and register
// with rendezvous contacts, then lookups.
type NATExperimentConfig struct {
	Cluster ClusterConfig // Cluster.NAT must be set
	// Settle is how long the network runs after building before it is
	// measured: reachability checks, rendezvous registrations.
	Settle time.Duration
	// Lookups from random live nodes, a third each for random IDs, cone
	// nodes' IDs and public nodes' IDs.
	Lookups       int
	Parallel      int
	LookupTimeout time.Duration
}

// NATResult is what a NAT experiment measured.
type NATResult struct {
	Nodes int
	Mix   NATMix
	Build BuildStats
	// Members counts the nodes of each kind.
	Members map[string]int
	// Classified counts, per kind, what the nodes concluded about
	// themselves (node.Reachability); ClientMode, per kind, how many run
	// as read-only clients.
	Classified map[string]map[string]int
	ClientMode map[string]int
	// Lookups, per target kind ("random", "cone", "public") and source
	// kind: found and reached shares, timeouts per lookup.
	Targets []NATTargetResult
	// Handouts is what find_node answers gave out of NAT'd nodes, over
	// the whole run.
	Handouts HandoutStats
	// Punches and relays summed over all nodes.
	PunchesOK, PunchesFailed, Relays, DialBacks uint64
	PunchesSkipped                              uint64 // by lookups behind symmetric NATs
	PunchesDiscounted                           uint64 // failed for requesters unsure of their port
	Filtered                                    uint64 // queries dropped by a NAT filter
	Duration                                    time.Duration
	// SettleQueries is, per kind, the find_node and ping queries a node
	// sent per minute of simulated time while settling: the upkeep that
	// NAT handling costs, with no measured lookups running.
	SettleQueries map[string]float64
}

// NATTargetResult is one row: lookups for one kind of target from one
// kind of source.
type NATTargetResult struct {
	Target, Source string
	Lookups        int
	Found, Reached float64 // shares of lookups (member targets only)
	Timeouts       Summary // per lookup
	TimeoutsMean   float64
	Queries        Summary
	Latency        Summary // ms, virtual time
	Errors         int
}

// RunNATExperiment builds a NAT'd cluster, lets it settle, measures and
// closes it.
func RunNATExperiment(ctx context.Context, cfg NATExperimentConfig) (NATResult, error) {
	if cfg.Cluster.NAT == nil {
		return NATResult{}, fmt.Errorf("sim: a NAT experiment needs a NAT mix")
	}
	if err := cfg.Cluster.NAT.Validate(); err != nil {
		return NATResult{}, err
	}
	if cfg.Lookups < 3 {
		return NATResult{}, fmt.Errorf("sim: need at least 3 lookups, got %d", cfg.Lookups)
	}
	cfg.Parallel, cfg.LookupTimeout = lookupLimits(cfg.Parallel, cfg.LookupTimeout)
	c, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return NATResult{}, err
	}
	defer c.Close()
	before := c.queriesSent()
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return NATResult{}, fmt.Errorf("sim: settling stopped: %w", err)
	}
	res := NATResult{Nodes: len(c.Members), Mix: *cfg.Cluster.NAT, Build: c.Build}
	res.SettleQueries = c.queryRates(before, c.queriesSent(), cfg.Settle)
	c.classification(&res)
	start := wallNow()
	targets, err := c.measureNAT(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.Targets = targets
	res.Duration = wallNow().Sub(start)
	for _, m := range c.Members {
		st := m.Node.Stats().NAT
		res.PunchesOK += st.PunchesOK
		res.PunchesFailed += st.PunchesFailed
		res.Relays += st.Relays
		res.DialBacks += st.DialBacks
		res.PunchesSkipped += st.PunchesSkipped
		res.PunchesDiscounted += st.PunchesDiscounted
	}
	res.Handouts = c.Net.Handouts()
	res.Filtered = c.Net.Stats().Filtered
	return res, nil
}

// classification tallies what each node concluded about itself.
func (c *Cluster) classification(res *NATResult) {
	res.Members = make(map[string]int)
	res.Classified = make(map[string]map[string]int)
	res.ClientMode = make(map[string]int)
	for _, m := range c.Members {
		kind := m.Endpoint.Kind().String()
		st := m.Node.Stats().NAT
		res.Members[kind]++
		if res.Classified[kind] == nil {
			res.Classified[kind] = make(map[string]int)
		}
		res.Classified[kind][string(st.Reachability)]++
		if st.ClientMode {
			res.ClientMode[kind]++
		}
	}
}

// queriesSent is, per member, the queries it has sent so far.
func (c *Cluster) queriesSent() []uint64 {
	out := make([]uint64, len(c.Members))
	for i, m := range c.Members {
		for _, byOutcome := range m.Node.Stats().RPCsOut {
			for _, v := range byOutcome {
				out[i] += v
			}
		}
	}
	return out
}

// queryRates is, per kind, the mean queries a member sent per minute
// between two queriesSent snapshots taken d apart.
func (c *Cluster) queryRates(before, after []uint64, d time.Duration) map[string]float64 {
	sum, nodes := make(map[string]float64), make(map[string]int)
	for i, m := range c.Members {
		k := m.Endpoint.Kind().String()
		sum[k] += float64(after[i] - before[i])
		nodes[k]++
	}
	out := make(map[string]float64, len(sum))
	for k, s := range sum {
		if d > 0 {
			out[k] = s / float64(nodes[k]) / d.Minutes()
		}
	}
	return out
}

// natJob is one measured lookup.
type natJob struct {
	from   *Member
	target krpc.ID
	node   *Member // nil for a random ID
	kind   string  // "random", "cone" or "public"
}

type natOutcome struct {
	found, reached             bool
	timeouts, queries, latency int
	err                        error
}

// measureNAT runs the lookups, a third for each kind of target.
func (c *Cluster) measureNAT(ctx context.Context, cfg NATExperimentConfig) ([]NATTargetResult, error) {
	byKind := make(map[NATKind][]*Member)
	var live []*Member
	for _, m := range c.Members {
		if !m.Endpoint.Down() {
			live = append(live, m)
			byKind[m.Endpoint.Kind()] = append(byKind[m.Endpoint.Kind()], m)
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Cluster.Seed, 0x6e61746c6b70))
	jobs := make([]natJob, 0, cfg.Lookups)
	for i := range cfg.Lookups {
		j := natJob{from: live[rng.IntN(len(live))], kind: "random"}
		pool := map[int][]*Member{1: byKind[Cone], 2: byKind[Public]}[i%3]
		switch {
		case i%3 == 0 || len(pool) < 2:
			j.target = randomID(rng)
		default:
			j.kind = map[int]string{1: "cone", 2: "public"}[i%3]
			for j.node == nil || j.node == j.from {
				j.node = pool[rng.IntN(len(pool))]
			}
			j.target = j.node.Endpoint.LocalID()
		}
		jobs = append(jobs, j)
	}
	outcomes := make([]natOutcome, len(jobs))
	err := bounded(ctx, len(jobs), cfg.Parallel, func(i int) {
		outcomes[i] = natLookup(ctx, jobs[i], cfg.LookupTimeout)
	})
	if err != nil {
		return nil, err
	}
	return summariseNAT(jobs, outcomes), nil
}

// natLookup looks j's target up and, when found, pings it there as an
// operator would after a lookup (kadnode lookup, then kadnode ping).
func natLookup(ctx context.Context, j natJob, timeout time.Duration) natOutcome {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := j.from.Node.Lookup(lctx, j.target)
	o := natOutcome{timeouts: r.Stats.Timeouts, queries: r.Stats.Queries, latency: int(r.Stats.Duration.Milliseconds()), err: err}
	if j.node == nil || err != nil {
		return o
	}
	o.found = r.Found && r.Addr == j.node.Endpoint.ExternalAddr()
	if o.found {
		_, _, perr := j.from.Node.Ping(lctx, kad.EndpointOf(j.target, r.Addr))
		o.reached = perr == nil
	}
	return o
}

// summariseNAT groups the outcomes by target kind and source kind, with
// an "all" row per target kind.
func summariseNAT(jobs []natJob, outcomes []natOutcome) []NATTargetResult {
	type key struct{ target, source string }
	groups := make(map[key][]int)
	for i, j := range jobs {
		for _, k := range []key{{j.kind, "all"}, {j.kind, j.from.Endpoint.Kind().String()}} {
			groups[k] = append(groups[k], i)
		}
	}
	var out []NATTargetResult
	for _, target := range []string{"cone", "public", "random"} {
		for _, source := range []string{"all", "public", "cone", "symmetric"} {
			idx, ok := groups[key{target, source}]
			if !ok {
				continue
			}
			var timeouts, queries, latency []int
			r := NATTargetResult{Target: target, Source: source, Lookups: len(idx)}
			found, reached, sum := 0, 0, 0
			for _, i := range idx {
				o := outcomes[i]
				timeouts = append(timeouts, o.timeouts)
				queries = append(queries, o.queries)
				latency = append(latency, o.latency)
				sum += o.timeouts
				if o.found {
					found++
				}
				if o.reached {
					reached++
				}
				if o.err != nil {
					r.Errors++
				}
			}
			if target != "random" {
				r.Found, r.Reached = share(found, len(idx)), share(reached, len(idx))
			}
			r.Timeouts, r.Queries, r.Latency = summarize(timeouts), summarize(queries), summarize(latency)
			r.TimeoutsMean = float64(sum) / float64(len(idx))
			out = append(out, r)
		}
	}
	return out
}

// Reachabilities lists node.Reachability values in table order.
var Reachabilities = []node.Reachability{node.ReachPublic, node.ReachNAT, node.ReachSymmetric, node.ReachUnknown}
