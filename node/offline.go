package node

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// errOffline marks a failure that is blamed on this node's own link, not on
// the peer: the table must not count it.
var errOffline = errors.New("this node seems offline: no peer has answered lately")

// offlineDetector tells a dead peer from a dead link. When our own network
// goes away every call fails, and counting those failures would evict the
// whole table and leave nothing to come back through. A run of
// OfflineFailureRun failed calls, across all peers with no response in
// between, makes the link suspect; the node then pings the contact that
// answered last, and if it is silent too the link is taken as down:
// failures stop counting until any peer answers. With some peers dead and
// others alive, answers interleave with the failures, or the probe
// answers, and every failure counts. While offline, a failure probes the
// link again once OfflineReprobeInterval has passed since the last probe:
// a node that only calls dead contacts (its least-recently-seen ones are
// the first to be revalidated) would otherwise never hear an answer, and
// would keep taking itself for offline long after its link, or a starved
// CPU that made the probe time out, recovered.
type offlineDetector struct {
	mu      sync.Mutex
	run     int // failed calls since the last response
	offline bool
	spells  uint64        // times the node took itself for offline
	probing chan struct{} // closed when the probe in flight ends; nil when none is
	probed  time.Time     // when the last probe ended
	// silent are the peers whose calls failed since the last probe began
	// (at most OfflineSilentMax): the next probe asks them last, so that
	// a node calling only dead contacts, which answered lately before they
	// died, does not probe those same dead contacts again and again.
	silent map[krpc.ID]struct{}
	log    *slog.Logger
}

// outcome records how one outbound call ended. parent is the caller's
// context before the per-call deadline: a call we cancelled ourselves says
// nothing about the link. A KRPC error is an answer.
// peer is the ID the call expected, or nil.
func (o *offlineDetector) outcome(parent context.Context, peer *krpc.ID, err error) {
	var kerr *krpc.Error
	if err != nil && !errors.As(err, &kerr) {
		if parent.Err() == nil {
			o.failed(peer)
		}
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.offline {
		o.log.Info("a peer answered again; back online, counting failures against contacts", "failed_calls", o.run)
	}
	o.run, o.offline = 0, false
}

func (o *offlineDetector) failed(peer *krpc.ID) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.run++
	if peer == nil || len(o.silent) >= OfflineSilentMax {
		return
	}
	if o.silent == nil {
		o.silent = make(map[krpc.ID]struct{})
	}
	o.silent[*peer] = struct{}{}
}

// suspect reports whether the last OfflineFailureRun calls all failed.
func (o *offlineDetector) suspect() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.run >= OfflineFailureRun
}

// probeFailed records that the probe of a suspect link went unanswered
// too, unless an answer came meanwhile.
func (o *offlineDetector) probeFailed() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.offline || o.run < OfflineFailureRun {
		return
	}
	o.offline = true
	o.spells++
	o.log.Info("no peer answered the last calls; this node seems offline, not counting failures against contacts until one answers", "failed_calls", o.run)
}

// seemsOffline reports whether a failed call to failedID is better blamed
// on our own link, probing the link when the failures make it suspect:
// OfflineProbes contacts that answered lately, and none of them failing
// now, are pinged at once, each up to OfflineProbeAttempts times in a
// row, and the link is taken as down only if all of them stay silent. One
// probe could hit a peer that died since its answer; one ping could miss
// its deadline on a starved machine, where a reply waits for the CPU.
func (n *Node) seemsOffline(failedID krpc.ID) bool {
	if n.offline.offlineUntilReprobe(n.cfg.Clock.Now()) {
		return true
	}
	if !n.offline.suspect() {
		return false
	}
	done, leader, silent := n.offline.startProbe()
	if !leader {
		// Calls failing together share one probe of the link: with α
		// queries in flight, each would otherwise send its own.
		select {
		case <-done:
		case <-n.ctx.Done():
		}
		return n.offline.isOffline()
	}
	defer func() { n.offline.endProbe(n.cfg.Clock.Now()) }()
	probes := n.table.recentResponders(failedID, silent, OfflineProbes)
	if len(probes) == 0 {
		return false // nobody else to ask: the failure may be the peer's
	}
	ctx, cancel := n.withClose(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	answered := make(chan struct{}, len(probes))
	for _, c := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range OfflineProbeAttempts {
				if _, _, err := n.pingAddr(ctx, c.Addr, &c.ID); err == nil {
					answered <- struct{}{}
					cancel() // one answer settles it
					return
				}
				if ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(answered) == 0 && n.ctx.Err() == nil {
		n.offline.probeFailed()
	}
	return n.offline.isOffline()
}

// startProbe returns the channel closed when the link probe ends, and
// whether the caller is to run that probe (no other one is in flight);
// the leader also gets the peers silent since the last probe began, and
// the set starts afresh.
func (o *offlineDetector) startProbe() (done <-chan struct{}, leader bool, silent map[krpc.ID]struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.probing != nil {
		return o.probing, false, nil
	}
	o.probing = make(chan struct{})
	silent, o.silent = o.silent, nil
	return o.probing, true, silent
}

// endProbe records when the probe ended and wakes the calls that waited
// for its verdict.
func (o *offlineDetector) endProbe(now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.probing)
	o.probing = nil
	o.probed = now
}

// offlineUntilReprobe reports whether failures are blamed on our link
// without a new probe: the node is offline and its last probe ended less
// than OfflineReprobeInterval ago.
func (o *offlineDetector) offlineUntilReprobe(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.offline && now.Sub(o.probed) < OfflineReprobeInterval
}

// offlineSpells counts the times the node took itself for offline.
func (o *offlineDetector) offlineSpells() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.spells
}

// isOffline reports whether failures are currently blamed on our link.
func (o *offlineDetector) isOffline() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.offline
}
