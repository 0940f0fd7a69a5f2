package node

import (
	"context"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// refreshTimes tracks when each bucket is next due for a refresh: a
// lookup of a random ID in its range when no lookup went there for
// RefreshInterval (±RefreshJitter, so that a network started at once does
// not refresh at once).
type refreshTimes struct {
	mu       sync.Mutex
	interval time.Duration
	// due holds Unix nanoseconds: a time.Time is three times the size and
	// holds a pointer, and every node keeps one per bucket.
	due [NumBuckets]int64
}

func (r *refreshTimes) init(now time.Time, interval time.Duration) {
	r.interval = interval
	for i := range r.due {
		r.due[i] = now.Add(jitter(interval, RefreshJitter)).UnixNano()
	}
}

// mark records a lookup into bucket b at now.
func (r *refreshTimes) mark(b int, now time.Time) {
	if b < 0 || b >= NumBuckets {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.due[b] = now.Add(jitter(r.interval, RefreshJitter)).UnixNano()
}

// dueBuckets returns the buckets from first up that are due at now.
func (r *refreshTimes) dueBuckets(now time.Time, first int) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int
	at := now.UnixNano()
	for b := max(first, 0); b < NumBuckets; b++ {
		if at >= r.due[b] {
			out = append(out, b)
		}
	}
	return out
}

// markLookup notes that a lookup for target covers its bucket.
func (n *Node) markLookup(target krpc.ID) {
	n.refresh.mark(BucketIndex(n.self, target), n.cfg.Clock.Now())
}

// refreshCheckInterval is how often the refresh task looks for due
// buckets: RefreshCheckInterval, or a quarter of a shorter refresh
// interval.
func (n *Node) refreshCheckInterval() time.Duration {
	return max(min(RefreshCheckInterval, n.cfg.RefreshInterval/4), time.Millisecond)
}

// refreshStep is one run of the refresh task.
func (n *Node) refreshStep() time.Duration {
	if n.isJoined() {
		n.refreshDue(n.ctx)
	}
	return n.refreshCheckInterval()
}

// refreshDue looks up a random ID in every due bucket, from the closest
// non-empty one outwards (the ones below it are empty and covered by
// lookups of our own ID). It returns how many buckets it refreshed.
func (n *Node) refreshDue(ctx context.Context) int {
	first := n.table.ClosestNonEmptyBucket()
	if first < 0 {
		return 0
	}
	due := n.refresh.dueBuckets(n.cfg.Clock.Now(), first)
	for _, b := range due {
		if ctx.Err() != nil {
			return 0
		}
		// lookup marks the bucket refreshed, whatever its outcome: an
		// empty range stays empty until the next interval.
		_, _ = n.lookup(ctx, RandomIDInBucket(n.self, b, nil))
	}
	return len(due)
}

// revalidateWait is the pause before the next revalidation ping:
// RevalidateInterval ±RevalidateJitter. A dead contact is evicted after
// MaxFailures rounds without a word from it.
func (n *Node) revalidateWait() time.Duration {
	return jitter(n.cfg.RevalidateInterval, RevalidateJitter)
}

// revalidateStep is one run of the revalidation task: it pings the
// least-recently-seen contact.
func (n *Node) revalidateStep() time.Duration {
	if n.isJoined() {
		n.revalidateOldest(n.ctx)
	}
	return n.revalidateWait()
}

// revalidateOldest pings the least-recently-seen contact, if any.
func (n *Node) revalidateOldest(ctx context.Context) bool {
	c, ok := n.table.LeastRecentlySeen()
	if !ok {
		return false
	}
	n.revalidate(ctx, c.ID, c.Addr)
	return true
}
