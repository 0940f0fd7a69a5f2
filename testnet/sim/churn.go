package sim

import (
	"container/heap"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// SessionChurn makes nodes come and go: each node's time online (a
// session) and then offline is drawn from a Weibull distribution, as
// measured for deployed DHTs (Stutzbach and Rejaie, IMC 2006: session
// lengths fit a Weibull with shape below 1, so many short sessions and a
// long tail). A node that goes offline neither answers nor reaches anyone;
// it comes back with the same identity and table, as kadnode does after a
// restart from its store.
type SessionChurn struct {
	// Median is the median session length.
	Median time.Duration
	// Shape is the Weibull shape k; below 1 the hazard falls with age.
	Shape float64
	// OffMedian is the median time offline before a node returns; 0 means
	// Median.
	OffMedian time.Duration
	// Warmup is how long churn runs before the lookups start; it goes on
	// while they run.
	Warmup time.Duration
}

func (s SessionChurn) validate() error {
	if s.Median <= 0 || s.Shape <= 0 || s.OffMedian < 0 || s.Warmup < 0 {
		return fmt.Errorf("sim: session churn needs a positive median (%v) and shape (%v), and no negative off-time (%v) or warm-up (%v)",
			s.Median, s.Shape, s.OffMedian, s.Warmup)
	}
	return nil
}

// weibull draws from the Weibull distribution of shape k with the given
// median: scale λ = median / (ln 2)^(1/k), sample λ·(−ln U)^(1/k).
func weibull(rng *rand.Rand, median time.Duration, k float64) time.Duration {
	scale := float64(median) / math.Pow(math.Ln2, 1/k)
	u := 1 - rng.Float64() // (0, 1]
	return time.Duration(scale * math.Pow(-math.Log(u), 1/k))
}

// churnEvent is a member going down (its session ends) or coming back.
type churnEvent struct {
	at   time.Time
	m    *Member
	down bool
}

type churnQueue []churnEvent

func (q churnQueue) Len() int           { return len(q) }
func (q churnQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q churnQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *churnQueue) Push(x any)        { *q = append(*q, x.(churnEvent)) }
func (q *churnQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// churner runs session churn over a cluster from one goroutine: a queue
// of every member's next change, slept through in the network's time.
type churner struct {
	cfg  SessionChurn
	rng  *rand.Rand
	q    churnQueue
	stop chan struct{}
	done chan struct{}

	mu             sync.Mutex
	downs, returns int
}

// startChurn starts every live member on a fresh session now; Stop ends
// the churn and leaves the members as they are.
func (c *Cluster) startChurn(cfg SessionChurn, seed uint64) *churner {
	if cfg.OffMedian == 0 {
		cfg.OffMedian = cfg.Median
	}
	ch := &churner{cfg: cfg, rng: rand.New(rand.NewPCG(seed, 0x636875726e)), stop: make(chan struct{}), done: make(chan struct{})}
	now := time.Now()
	for _, m := range c.Members {
		if !m.Endpoint.Down() {
			ch.q = append(ch.q, churnEvent{at: now.Add(weibull(ch.rng, cfg.Median, cfg.Shape)), m: m, down: true})
		}
	}
	heap.Init(&ch.q)
	go ch.run()
	return ch
}

func (ch *churner) run() {
	defer close(ch.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for ch.q.Len() > 0 {
		t.Reset(time.Until(ch.q[0].at))
		select {
		case <-ch.stop:
			return
		case <-t.C:
		}
		now := time.Now()
		for ch.q.Len() > 0 && !ch.q[0].at.After(now) {
			e := heap.Pop(&ch.q).(churnEvent)
			e.m.Endpoint.SetDown(e.down)
			next := churnEvent{m: e.m, down: !e.down}
			ch.mu.Lock()
			if e.down {
				ch.downs++
				next.at = now.Add(weibull(ch.rng, ch.cfg.OffMedian, ch.cfg.Shape))
			} else {
				ch.returns++
				next.at = now.Add(weibull(ch.rng, ch.cfg.Median, ch.cfg.Shape))
			}
			ch.mu.Unlock()
			heap.Push(&ch.q, next)
		}
	}
}

// counts is how many sessions ended and how many nodes came back so far.
func (ch *churner) counts() (downs, returns int) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.downs, ch.returns
}

// Stop ends the churn and waits for its goroutine.
func (ch *churner) Stop() {
	close(ch.stop)
	<-ch.done
}

// sleepCtx waits d of the network's time unless ctx ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
