package node

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// failer is what the checks need from *testing.T and *rapid.T alike.
type failer interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// manualClock is a Clock that moves only when told to.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeStore is an in-memory Store that applies every call at once, so its
// contents must always equal the table's. Setting err makes every call
// fail without changing anything.
type fakeStore struct {
	mu                     sync.Mutex
	contacts               map[krpc.ID]kad.Contact
	puts, deletes, touches int
	err                    error
}

func newFakeStore() *fakeStore { return &fakeStore{contacts: make(map[krpc.ID]kad.Contact)} }

func (s *fakeStore) Load() ([]kad.Contact, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kad.Contact
	for _, c := range s.contacts { // map order: Load must not depend on it
		out = append(out, c)
	}
	return out, s.err
}

func (s *fakeStore) write(counter *int, apply func()) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*counter++
	if s.err != nil {
		return s.err
	}
	apply()
	return nil
}

func (s *fakeStore) Put(c kad.Contact) error {
	return s.write(&s.puts, func() { s.contacts[c.ID] = c })
}

func (s *fakeStore) Delete(id krpc.ID) error {
	return s.write(&s.deletes, func() { delete(s.contacts, id) })
}

func (s *fakeStore) Touch(c kad.Contact) error {
	return s.write(&s.touches, func() { s.contacts[c.ID] = c })
}

// counts flushes tab (if not nil) and reports the calls so far.
func (s *fakeStore) counts(tab *Table) (puts, deletes, touches int) {
	if tab != nil {
		tab.Flush()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.deletes, s.touches
}

// pingCall is one liveness ping waiting for the test to answer it.
type pingCall struct {
	c     kad.Contact
	reply chan error
}

// scriptedPing is a LivenessPing that hands every call to the test and
// blocks until the test answers or the table closes. It tracks how many
// calls run at once, in all and per bucket of self's table.
type scriptedPing struct {
	self  krpc.ID
	calls chan pingCall

	mu                 sync.Mutex
	total, inFlight    int
	maxInFlight        int
	perBucket          map[int]int
	maxInFlightABucket int
}

func newScriptedPing(self krpc.ID) *scriptedPing {
	return &scriptedPing{self: self, calls: make(chan pingCall, 2*NumBuckets), perBucket: make(map[int]int)}
}

func (p *scriptedPing) ping(ctx context.Context, c kad.Contact) error {
	i := BucketIndex(p.self, c.ID)
	p.mu.Lock()
	p.total++
	p.inFlight++
	p.perBucket[i]++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	p.maxInFlightABucket = max(p.maxInFlightABucket, p.perBucket[i])
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.perBucket[i]--
		p.mu.Unlock()
	}()
	call := pingCall{c: c, reply: make(chan error, 1)}
	select {
	case p.calls <- call:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-call.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stats reports the calls so far and the most that ran at once, in all
// and for one bucket.
func (p *scriptedPing) stats() (total, maxInFlight, maxInFlightABucket int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total, p.maxInFlight, p.maxInFlightABucket
}

// next waits for the next ping call, failing the test after a deadline.
func (p *scriptedPing) next(tb failer) pingCall {
	tb.Helper()
	select {
	case c := <-p.calls:
		return c
	case <-time.After(10 * time.Second):
		tb.Fatal("no liveness ping within 10s")
		return pingCall{}
	}
}

// answer replies to call and waits until the table has applied the
// outcome (applied is fed by the table's afterPing hook).
func answer(tb failer, call pingCall, err error, applied <-chan struct{}) {
	tb.Helper()
	call.reply <- err
	select {
	case <-applied:
	case <-time.After(10 * time.Second):
		tb.Fatal("ping outcome not applied within 10s")
	}
}

// pingHook installs a hook on tab that signals each applied ping outcome.
func pingHook(tab *Table) <-chan struct{} {
	applied := make(chan struct{}, 2*NumBuckets)
	tab.afterPing = func() { applied <- struct{}{} }
	return applied
}

// idInBucket returns a reproducible ID in bucket i of self's table.
func idInBucket(self krpc.ID, i int, r *rand.Rand) krpc.ID { return RandomIDInBucket(self, i, r) }

// publicAddr is an address in the public subnet 198.51.<net>.0/24 (the
// diversity limits apply to it), host h.
func publicAddr(net, h int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(net), byte(h)}), 4000)
}

// privateAddr is a distinct 10.0.0.0/8 address per n (exempt from the
// limits by default).
func privateAddr(n int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}), 4000)
}

func peer(id krpc.ID, addr netip.AddrPort) kad.Peer { return kad.Peer{ID: id, Addr: addr} }

// sameContact compares field by field, times by instant, so that contacts
// read back from a store compare equal to the originals.
func sameContact(a, b kad.Contact) bool {
	return a.ID == b.ID && a.Addr == b.Addr && a.Place == b.Place && a.Failures == b.Failures &&
		a.FirstSeen.Equal(b.FirstSeen) && a.LastSeen.Equal(b.LastSeen) && a.LastResponse.Equal(b.LastResponse)
}

// diffContacts describes the first difference between two ordered lists,
// or returns "".
func diffContacts(got, want []kad.Contact) string {
	for i := range min(len(got), len(want)) {
		if !sameContact(got[i], want[i]) {
			return fmt.Sprintf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("got %d entries, want %d", len(got), len(want))
	}
	return ""
}

// bruteClosest sorts every member by distance to target.
func bruteClosest(members []kad.Contact, target krpc.ID, n int) []kad.Contact {
	sorted := slices.Clone(members)
	slices.SortFunc(sorted, func(a, b kad.Contact) int { return CompareDistance(target, a.ID, b.ID) })
	return sorted[:min(n, len(sorted))]
}

// membersOf filters the bucket members out of a Contacts listing.
func membersOf(cs []kad.Contact) []kad.Contact {
	var out []kad.Contact
	for _, c := range cs {
		if c.Place == kad.InBucket {
			out = append(out, c)
		}
	}
	return out
}

// checkTable verifies every structural invariant of tab and, when fs is
// not nil, that the store holds exactly the table's entries.
func checkTable(tb failer, tab *Table, fs *fakeStore) {
	tb.Helper()
	tab.Flush()
	tab.mu.Lock()
	defer tab.mu.Unlock()
	cfg := tab.cfg
	seen := make(map[krpc.ID]bool)
	subnets := make(map[netip.Prefix]int)
	total := 0
	var all []kad.Contact
	for i, b := range tab.buckets {
		if b == nil {
			continue
		}
		if len(b.members) > cfg.K {
			tb.Fatalf("bucket %d has %d members, K is %d", i, len(b.members), cfg.K)
		}
		if len(b.replacements) > cfg.ReplacementSize {
			tb.Fatalf("bucket %d has %d replacements, limit %d", i, len(b.replacements), cfg.ReplacementSize)
		}
		if len(b.members) < cfg.K && len(b.replacements) > 0 {
			tb.Fatalf("bucket %d has room (%d members) but %d replacements wait", i, len(b.members), len(b.replacements))
		}
		if !slices.IsSortedFunc(b.members, contactOrder(seenOrder).byValue) {
			tb.Fatalf("bucket %d members not least recently seen first", i)
		}
		if !slices.IsSortedFunc(b.replacements, contactOrder(newestOrder).byValue) {
			tb.Fatalf("bucket %d replacements not newest first", i)
		}
		bucketSubnets := make(map[netip.Prefix]int)
		for _, list := range [][]kad.Contact{b.members, b.replacements} {
			for _, c := range list {
				if c.ID == tab.self {
					tb.Fatalf("self is in the table")
				}
				if seen[c.ID] {
					tb.Fatalf("contact %x is in two places", c.ID)
				}
				seen[c.ID] = true
				if got := BucketIndex(tab.self, c.ID); got != i {
					tb.Fatalf("contact %x in bucket %d, belongs in %d", c.ID, i, got)
				}
				if p, ok := tab.subnetOf(c.Addr.Addr()); ok {
					subnets[p]++
					bucketSubnets[p]++
					if lim := cfg.BucketSubnetLimit; lim > 0 && bucketSubnets[p] > lim {
						tb.Fatalf("bucket %d holds %d entries of %v, limit %d", i, bucketSubnets[p], p, lim)
					}
				}
				all = append(all, c)
			}
		}
		for _, c := range b.members {
			if c.Place != kad.InBucket {
				tb.Fatalf("member %x has place %d", c.ID, c.Place)
			}
		}
		for _, c := range b.replacements {
			if c.Place != kad.InReplacement {
				tb.Fatalf("replacement %x has place %d", c.ID, c.Place)
			}
		}
		total += len(b.members)
	}
	if total != tab.members {
		tb.Fatalf("member count %d, buckets hold %d", tab.members, total)
	}
	for p, n := range subnets {
		if lim := cfg.TableSubnetLimit; lim > 0 && n > lim {
			tb.Fatalf("table holds %d entries of %v, limit %d", n, p, lim)
		}
		if tab.subnets[p] != n {
			tb.Fatalf("subnet count for %v is %d, table holds %d", p, tab.subnets[p], n)
		}
	}
	if len(tab.subnets) != len(subnets) {
		tb.Fatalf("subnet counts track %d subnets, table holds %d", len(tab.subnets), len(subnets))
	}
	if fs == nil {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if len(fs.contacts) != len(all) {
		tb.Fatalf("store holds %d contacts, table %d", len(fs.contacts), len(all))
	}
	for _, c := range all {
		if s, ok := fs.contacts[c.ID]; !ok || !sameContact(s, c) {
			tb.Fatalf("store has %+v (present %v) for table entry %+v", s, ok, c)
		}
	}
}

// checkReload loads cs into fresh tables and checks they equal tab: from
// tab's own listing (which must write nothing) and, if fs is not nil, from
// the store's contents in its arbitrary order.
func checkReload(tb failer, tab *Table, fs *fakeStore) {
	tb.Helper()
	want := tab.Contacts()
	sources := [][]kad.Contact{want}
	if fs != nil {
		cs, _ := fs.Load()
		sources = append(sources, cs)
	}
	for i, cs := range sources {
		fresh := newFakeStore()
		for _, c := range cs {
			fresh.contacts[c.ID] = c
		}
		re := NewTable(tab.self, tab.cfg, fresh, newManualClock(), nil, nil)
		re.Load(cs)
		re.Close()
		if d := diffContacts(re.Contacts(), want); d != "" {
			tb.Fatalf("reload from source %d differs: %s", i, d)
		}
		if puts, dels, touches := fresh.counts(nil); puts+dels+touches != 0 {
			tb.Fatalf("reload from source %d wrote to the store: %d puts, %d deletes, %d touches", i, puts, dels, touches)
		}
	}
}

// logBuffer is a slog handler target that counts lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) lines(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		if bytes.Contains(line, []byte(substr)) {
			n++
		}
	}
	return n
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
