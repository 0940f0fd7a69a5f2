package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/node"
)

// ExperimentConfig describes one measurement: a cluster, then rounds of
// lookups with a growing share of failed nodes.
type ExperimentConfig struct {
	Cluster ClusterConfig
	// Lookups per phase: half for random IDs (checked against the exact k
	// closest live nodes), half for IDs of live nodes (checked for Found
	// at the right address).
	Lookups int
	// Churn lists the cumulative shares of nodes that fail without a word,
	// one phase each after the churn-free one, e.g. 0.1 then 0.3.
	Churn []float64
	// Sessions, when set, adds a last phase in which nodes come and go
	// with Weibull session lengths (after the Churn phases' failed nodes
	// are brought back).
	Sessions *SessionChurn
	// Parallel is how many lookups run at once.
	Parallel int
	// LookupTimeout bounds one lookup.
	LookupTimeout time.Duration
	// Done, when set, is told the result so far after the build and after
	// each phase, so that a run stopped early still shows what it measured.
	Done func(ExperimentResult)
}

func (cfg ExperimentConfig) done(res ExperimentResult) {
	if cfg.Done != nil {
		cfg.Done(res)
	}
}

// ExperimentResult is what one experiment measured.
type ExperimentResult struct {
	Nodes  int
	Build  BuildStats
	Phases []PhaseResult
}

// PhaseResult summarises the lookups of one churn level.
type PhaseResult struct {
	Churn    float64 // share of nodes failed
	Lookups  int
	Rounds   Summary
	Latency  Summary // the lookup's duration in the network's time, in ms
	Queries  Summary // find_node queries sent by the lookup
	Timeouts Summary
	ExactK   float64 // share of random-ID lookups that returned exactly the k closest live nodes
	Found    float64 // share of live-node lookups that found the node at its address
	Errors   int     // lookups that returned an error
	Duration time.Duration
	// Session churn: the phase ran with nodes coming and going; Live is
	// the share of nodes up when it ended, Downs and Returns how many
	// sessions ended and how many nodes came back since churn began.
	Sessions       bool
	Live           float64
	Downs, Returns int
}

// lookupOutcome is one measured lookup.
type lookupOutcome struct {
	rounds, queries, timeouts int
	latency                   time.Duration
	randomTarget              bool
	ok                        bool // exact k (random target) or found (node target)
	err                       error
}

// RunExperiment builds the cluster, measures each phase and closes it.
func RunExperiment(ctx context.Context, cfg ExperimentConfig) (ExperimentResult, error) {
	if cfg.Lookups < 2 {
		return ExperimentResult{}, fmt.Errorf("sim: need at least 2 lookups per phase, got %d", cfg.Lookups)
	}
	if cfg.Sessions != nil {
		if err := cfg.Sessions.validate(); err != nil {
			return ExperimentResult{}, err
		}
	}
	for _, f := range cfg.Churn {
		if f <= 0 || f >= 1 {
			return ExperimentResult{}, fmt.Errorf("sim: churn %v must be a share strictly between 0 and 1", f)
		}
	}
	cfg.Parallel, cfg.LookupTimeout = lookupLimits(cfg.Parallel, cfg.LookupTimeout)
	c, err := NewCluster(ctx, cfg.Cluster)
	if err != nil {
		return ExperimentResult{}, err
	}
	defer c.Close()
	res := ExperimentResult{Nodes: len(c.Members), Build: c.Build}
	cfg.done(res)
	rng := rand.New(rand.NewPCG(cfg.Cluster.Seed, 0x6c6f6f6b7570))
	for _, churn := range append([]float64{0}, cfg.Churn...) {
		c.failShare(rng, churn)
		p, err := c.measure(ctx, rng, cfg)
		if err != nil {
			return res, err
		}
		p.Churn = churn
		res.Phases = append(res.Phases, p)
		cfg.done(res)
	}
	if cfg.Sessions != nil {
		p, err := c.measureSessions(ctx, rng, cfg)
		if err != nil {
			return res, err
		}
		res.Phases = append(res.Phases, p)
		cfg.done(res)
	}
	return res, nil
}

// bounded runs f(0) to f(n-1), at most parallel at once, and waits for
// them; it stops starting new ones when ctx ends.
func bounded(ctx context.Context, n, parallel int, f func(i int)) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, parallel)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("sim: measuring stopped: %w", ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	return nil
}

// lookupLimits fills in the defaults of the lookups' parallelism and
// timeout.
func lookupLimits(parallel int, timeout time.Duration) (int, time.Duration) {
	if timeout <= 0 {
		timeout = defaultLookupTimeout
	}
	return max(parallel, 1), timeout
}

// measureSessions brings every member back, lets Weibull session churn run
// for the warm-up, then measures lookups while it goes on.
func (c *Cluster) measureSessions(ctx context.Context, rng *rand.Rand, cfg ExperimentConfig) (PhaseResult, error) {
	for _, m := range c.Members {
		m.Endpoint.SetDown(false)
	}
	ch := c.startChurn(*cfg.Sessions, cfg.Cluster.Seed)
	defer ch.Stop()
	if err := sleepCtx(ctx, cfg.Sessions.Warmup); err != nil {
		return PhaseResult{}, fmt.Errorf("sim: churn warm-up stopped: %w", err)
	}
	p, err := c.measure(ctx, rng, cfg)
	if err != nil {
		return p, err
	}
	p.Sessions = true
	p.Downs, p.Returns = ch.counts()
	live := 0
	for _, m := range c.Members {
		if !m.Endpoint.Down() {
			live++
		}
	}
	p.Live = share(live, len(c.Members))
	return p, nil
}

// failShare fails random live members until share of all members are down.
func (c *Cluster) failShare(rng *rand.Rand, share float64) {
	want := int(share * float64(len(c.Members)))
	down := 0
	var live []*Member
	for _, m := range c.Members {
		if m.Endpoint.Down() {
			down++
		} else {
			live = append(live, m)
		}
	}
	rng.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	for i := 0; down < want && i < len(live); i++ {
		live[i].Endpoint.SetDown(true)
		down++
	}
}

// measure runs cfg.Lookups lookups from random live members.
func (c *Cluster) measure(ctx context.Context, rng *rand.Rand, cfg ExperimentConfig) (PhaseResult, error) {
	var live []*Member
	for _, m := range c.Members {
		if !m.Endpoint.Down() {
			live = append(live, m)
		}
	}
	k := cfg.Cluster.Node.K
	if k <= 0 {
		k = node.DefaultK
	}
	type job struct {
		from   *Member
		target krpc.ID
		node   *Member // the live node looked up, nil for a random target
	}
	jobs := make([]job, cfg.Lookups)
	for i := range jobs {
		jobs[i].from = live[rng.IntN(len(live))]
		if i%2 == 0 {
			jobs[i].target = randomID(rng)
		} else {
			// Another node: a lookup never reports its own node as found.
			for jobs[i].node == nil || jobs[i].node == jobs[i].from {
				jobs[i].node = live[rng.IntN(len(live))]
			}
			jobs[i].target = jobs[i].node.Endpoint.LocalID()
		}
	}
	outcomes := make([]lookupOutcome, len(jobs))
	start := wallNow()
	err := bounded(ctx, len(jobs), cfg.Parallel, func(i int) {
		j := jobs[i]
		lctx, cancel := context.WithTimeout(ctx, cfg.LookupTimeout)
		defer cancel()
		r, err := j.from.Node.Lookup(lctx, j.target)
		o := lookupOutcome{rounds: r.Stats.Rounds, queries: r.Stats.Queries, timeouts: r.Stats.Timeouts, latency: r.Stats.Duration, randomTarget: j.node == nil, err: err}
		if j.node == nil {
			// Judged against the nodes live when it ends: under
			// session churn they change while it runs.
			o.ok = sameIDs(contactIDs(r.Closest), closestLive(c.Members, j.from, j.target, k))
		} else {
			o.ok = r.Found && r.Addr == j.node.Endpoint.LocalAddr()
		}
		outcomes[i] = o
	})
	if err != nil {
		return PhaseResult{}, err
	}
	return summarise(outcomes, wallNow().Sub(start)), nil
}

func summarise(outcomes []lookupOutcome, d time.Duration) PhaseResult {
	var rounds, queries, timeouts, latency []int
	var exact, randoms, found, nodes, errs int
	for _, o := range outcomes {
		rounds = append(rounds, o.rounds)
		queries = append(queries, o.queries)
		timeouts = append(timeouts, o.timeouts)
		latency = append(latency, int(o.latency.Milliseconds()))
		if o.err != nil {
			errs++
		}
		if o.randomTarget {
			randoms++
			if o.ok {
				exact++
			}
		} else {
			nodes++
			if o.ok {
				found++
			}
		}
	}
	return PhaseResult{
		Lookups:  len(outcomes),
		Rounds:   summarize(rounds),
		Queries:  summarize(queries),
		Timeouts: summarize(timeouts),
		Latency:  summarize(latency),
		ExactK:   share(exact, randoms),
		Found:    share(found, nodes),
		Errors:   errs,
		Duration: d,
	}
}

func share(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func randomID(rng *rand.Rand) krpc.ID {
	var id krpc.ID
	for i := range id {
		id[i] = byte(rng.Uint32())
	}
	return id
}

// closestLive is the ground truth: the k live members nearest target by
// XOR distance, found by scanning all of them. The member that runs the
// lookup is left out, since a lookup never returns its own node.
func closestLive(members []*Member, from *Member, target krpc.ID, k int) []krpc.ID {
	byDistance := func(a, b krpc.ID) int { return node.CompareDistance(target, a, b) }
	best := make([]krpc.ID, 0, k+1) // closest first
	for _, m := range members {
		if m == from || m.Endpoint.Down() {
			continue
		}
		id := m.Endpoint.LocalID()
		if len(best) == k && byDistance(id, best[k-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(best, id, byDistance)
		best = slices.Insert(best, i, id)
		if len(best) > k {
			best = best[:k]
		}
	}
	return best
}

func sameIDs(a, b []krpc.ID) bool {
	if len(a) != len(b) {
		return false
	}
	set := make(map[krpc.ID]bool, len(a))
	for _, id := range a {
		set[id] = true
	}
	for _, id := range b {
		if !set[id] {
			return false
		}
	}
	return true
}
