package wire

import (
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// ipLimiter is a token bucket per source IP for new inbound handshakes:
// pion spends ~36 KB and 4 goroutines on each half-open one. It is used
// with Transport.mu held.
type ipLimiter struct {
	limit rate.Limit
	burst int
	by    map[netip.Addr]*rate.Limiter
}

func newIPLimiter(perSecond float64) ipLimiter {
	if perSecond < 0 {
		return ipLimiter{limit: rate.Inf}
	}
	burst := int(2 * perSecond)
	if burst < 1 {
		burst = 1
	}
	return ipLimiter{limit: rate.Limit(perSecond), burst: burst, by: make(map[netip.Addr]*rate.Limiter)}
}

func (l *ipLimiter) allow(ip netip.Addr, now time.Time) bool {
	if l.limit == rate.Inf {
		return true
	}
	b := l.by[ip]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.by[ip] = b
	}
	return b.AllowN(now, 1)
}

// prune forgets buckets that have refilled: they hold no information.
func (l *ipLimiter) prune(now time.Time) {
	for ip, b := range l.by {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.by, ip)
		}
	}
}

// reapInterval is how often the read loop closes the sessions idle for
// longer than their idle timeout (reapIdle): a vanished peer gives no
// other signal.
func reapInterval(idle time.Duration) time.Duration {
	return min(max(idle/4, 10*time.Millisecond), 5*time.Second)
}

func (t *Transport) reapIdle() {
	now := t.cfg.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limiter.prune(now)
	for _, sl := range t.peers {
		if s := sl.est; s != nil && s.idleSince(s.idleCutoff(now.UnixNano())) {
			t.closeAsync(s)
		}
	}
}

// makeRoom makes space for one more established session, closing the least
// recently used idle one when the table is full. It reports false when
// every session is busy. Called with t.mu held.
func (t *Transport) makeRoom() bool {
	if t.live+t.pending < t.cfg.MaxSessions {
		return true
	}
	var victim *session
	for _, sl := range t.peers {
		s := sl.est
		if s == nil || s.inFlight() > 0 {
			continue
		}
		if victim == nil || s.lastUse.Load() < victim.lastUse.Load() {
			victim = s
		}
	}
	if victim == nil {
		return false
	}
	t.closeAsync(victim)
	return true
}
