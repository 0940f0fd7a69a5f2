package node

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"golang.org/x/time/rate"
)

// Reachability is what a node knows about unsolicited inbound traffic.
type Reachability string

const (
	// ReachUnknown: not classified yet. The node queries with ro set, so
	// nobody inserts it at an address that may not work.
	ReachUnknown Reachability = "unknown"
	// ReachPublic: a node it never contacted reached it, its peers see
	// its own bound address, or a port mapping or --nat extip says so.
	ReachPublic Reachability = "public"
	// ReachNAT: peers agree on one external address and port, but
	// unsolicited traffic does not arrive: reachable by hole punching
	// through a rendezvous.
	ReachNAT Reachability = "nat"
	// ReachSymmetric: peers see different ports, so no address can be
	// handed out; the node runs as a read-only client.
	ReachSymmetric Reachability = "symmetric"
)

// NATConfig turns on NAT handling: the reachability check, rendezvous,
// hole punching and client mode. Off, the node behaves as if every
// contact were public.
type NATConfig struct {
	Enabled bool
	// Keepalive is the pause between registrations with each rendezvous
	// contact; 0 takes DefaultNATKeepalive.
	Keepalive time.Duration
	// Mapped, when valid, is the node's public address from a port
	// mapping or the operator: the node is public there.
	Mapped netip.AddrPort
}

// natState is a node's NAT bookkeeping, both as a possibly NAT'd node
// and as a rendezvous for others.
type natState struct {
	cfg   NATConfig
	local map[netip.Addr]bool // addresses of our interfaces

	mu        sync.Mutex
	state     Reachability
	why       string
	client    bool // BEP 43 read-only client mode
	clientWhy string

	nonces     map[krpc.ID]time.Time        // outstanding dial-back nonces, by expiry
	verified   bool                         // a nonce came from an address we never sent to
	failed     int                          // checks that ended without a nonce
	sent       map[netip.AddrPort]time.Time // addresses we sent to, for the dial-back rule
	sentForgot time.Time                    // when sent last overflowed and was cleared
	checking   bool
	checkAt    time.Time // when the next check is due
	nonceCh    chan struct{}

	selfLooking     bool          // a lookup of our own ID for rendezvous is running
	selfLookupAt    time.Time     // when the next one is due
	selfLookupEvery time.Duration // the current pause between them

	rendezvous map[krpc.ID]rendezvousEntry // contacts we registered with
	clients    map[krpc.ID]natClient       // nodes registered with us
	natted     map[krpc.ID]natMark         // contacts known to need a rendezvous
	markSeq    uint64                      // the last natMark's seq
	inTable    func(krpc.ID) bool          // whether the table holds a contact; called without mu
	limiters   map[krpc.ID]*rate.Limiter

	punchOK, punchFailed uint64
	relays, dialBacks    uint64
	selfLookups          uint64
	punchesSkipped       uint64 // punches not tried behind a symmetric NAT
	punchDiscounted      uint64 // failed punches for requesters unsure of their port

	spawnMu sync.Mutex
	closed  bool
	wg      sync.WaitGroup
}

type rendezvousEntry struct {
	addr netip.AddrPort
	last time.Time // last successful registration
}

type natClient struct {
	addr  netip.AddrPort
	until time.Time
}

// newNATState starts in ReachUnknown (public when cfg maps a port);
// inTable, which may be nil in tests, tells which contacts the routing
// table holds.
func newNATState(cfg NATConfig, inTable func(krpc.ID) bool) *natState {
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = DefaultNATKeepalive
	}
	s := &natState{
		cfg:        cfg,
		local:      localAddrs(),
		state:      ReachUnknown,
		why:        "no peer has answered yet",
		nonces:     make(map[krpc.ID]time.Time),
		sent:       make(map[netip.AddrPort]time.Time),
		nonceCh:    make(chan struct{}, 1),
		rendezvous: make(map[krpc.ID]rendezvousEntry),
		clients:    make(map[krpc.ID]natClient),
		natted:     make(map[krpc.ID]natMark),
		limiters:   make(map[krpc.ID]*rate.Limiter),
		inTable:    inTable,
	}
	if cfg.Mapped.IsValid() {
		s.state, s.why = ReachPublic, "port mapped at "+cfg.Mapped.String()
	}
	return s
}

// localAddrs lists the addresses of this host's interfaces.
func localAddrs() map[netip.Addr]bool {
	out := make(map[netip.Addr]bool)
	as, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
}

// public reports whether others may insert us (our queries go without ro).
func (s *natState) public() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == ReachPublic
}

// classify works out the state from the votes on our external address
// and the dial-back results. It returns the new state and whether it
// changed.
func (s *natState) classify(e *externalAddr, listen netip.AddrPort) (Reachability, string, bool) {
	top, agree, ports, voters := e.summary()
	s.mu.Lock()
	defer s.mu.Unlock()
	state, why := ReachUnknown, "waiting for peers' view of our address and a dial-back"
	switch {
	case s.cfg.Mapped.IsValid():
		state, why = ReachPublic, "port mapped at "+s.cfg.Mapped.String()
	case s.verified:
		state, why = ReachPublic, "a node we never contacted reached us (dial-back)"
	case voters > 0 && top.Port() == listen.Port() && (top.Addr() == listen.Addr() || s.local[top.Addr()]):
		state, why = ReachPublic, fmt.Sprintf("peers see our own address %s: no NAT in the way", top)
	case ports >= 2:
		state, why = ReachSymmetric, fmt.Sprintf("peers see %d different ports for %s: a symmetric NAT maps each destination apart", ports, top.Addr())
	case s.failed > 0 && agree >= 2:
		state, why = ReachNAT, fmt.Sprintf("%d peers see us at %s, but no dial-back reached us: behind a NAT that filters", agree, top)
	}
	changed := state != s.state
	s.state, s.why = state, why
	switch {
	case state == ReachSymmetric:
		s.client, s.clientWhy = true, why
	case state == ReachNAT && s.punchFailed >= NATPunchFailures && s.punchOK == 0:
		s.client, s.clientWhy = true, fmt.Sprintf("%d hole punches failed and none succeeded", s.punchFailed)
	case state == ReachPublic:
		s.client, s.clientWhy = false, ""
	}
	return state, why, changed
}

// externalChanged forgets what the old address proved: check again. The
// first agreed address (old invalid) voids nothing: the checks so far
// were about the address the peers reported, which is the one they now
// agree on. Resetting then sent a node behind a filtering NAT back to
// unknown, and dropped its rendezvous, just when a third responder (often
// the first node that punched through to it) completed the agreement.
func (s *natState) externalChanged(old netip.AddrPort) {
	if !old.IsValid() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.verified, s.failed, s.checkAt = false, 0, time.Time{}
}

// sentTo records that we sent to addr: its packets may pass our NAT now.
func (s *natState) sentTo(addr netip.AddrPort, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sent) >= NATMaxPeers {
		for a, t := range s.sent {
			if now.Sub(t) > NATSentMemory {
				delete(s.sent, a)
			}
		}
		if len(s.sent) >= NATMaxPeers {
			// Past the bound we no longer know whom we sent to, so no
			// dial-back proves anything until the forgotten ones age out.
			clear(s.sent)
			s.sentForgot = now
		}
	}
	s.sent[addr] = now
}

// nonceFrom records a dial-back; it proves reachability only when the
// nonce is ours and the dialer's address never heard from us.
func (s *natState) nonceFrom(nonce krpc.ID, from netip.AddrPort, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.nonces[nonce]
	if !ok || now.After(exp) {
		return false
	}
	if t, sent := s.sent[from]; sent && now.Sub(t) < NATSentMemory {
		return false
	}
	if !s.sentForgot.IsZero() && now.Sub(s.sentForgot) < NATSentMemory {
		return false
	}
	delete(s.nonces, nonce)
	s.verified = true
	select {
	case s.nonceCh <- struct{}{}:
	default:
	}
	return true
}

// portUnsure reports whether we do not know our NAT to keep one external
// port for every destination: symmetric, or not classified yet.
func (s *natState) portUnsure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == ReachSymmetric || s.state == ReachUnknown
}

// skipPunch reports, and counts, a punch we do not try: behind a
// symmetric NAT no punch can work.
func (s *natState) skipPunch() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != ReachSymmetric {
		return false
	}
	s.punchesSkipped++
	return true
}

// allow takes one token of peer's relay budget. Past NATMaxPeers it
// forgets only the budgets that have refilled, which is the state a new
// one starts in; if none has, it refuses newcomers rather than hand every
// busy requester a fresh burst.
func (s *natState) allow(peer krpc.ID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[peer]
	if l == nil {
		if len(s.limiters) >= NATMaxPeers {
			now := time.Now()
			for id, l := range s.limiters {
				if l.TokensAt(now) >= NATRelayBurst {
					delete(s.limiters, id)
				}
			}
			if len(s.limiters) >= NATMaxPeers {
				return false
			}
		}
		l = rate.NewLimiter(rate.Limit(NATRelayRate), NATRelayBurst)
		s.limiters[peer] = l
	}
	return l.Allow()
}

// natMark records that a contact needs a rendezvous: seq orders the
// marks and tells a mark made again apart; at is when it was made.
type natMark struct {
	seq uint64
	at  time.Time
}

// markNATted records that id needs a rendezvous to be reached.
func (s *natState) markNATted(id krpc.ID, now time.Time) {
	s.mu.Lock()
	s.markSeq++
	s.natted[id] = natMark{seq: s.markSeq, at: now}
	var marked map[krpc.ID]natMark
	if len(s.natted) > NATMaxPeers {
		marked = maps.Clone(s.natted)
	}
	s.mu.Unlock()
	if marked != nil {
		s.forgetNATted(marked, now)
	}
}

// forgetNATted brings the NAT'd marks back under their bound. Forgetting
// a table member's mark would have find_node answers hand it out at an
// address nobody else can use, so only marks of contacts the table does
// not hold go: those older than NATMarkGrace, then, while still over the
// bound, the oldest. A mark made again since the snapshot stays, and so
// does a recent one while under the bound: every path that inserts a
// NAT'd contact marks it just before. The table is asked without s.mu
// held: its lock comes before ours. Marks of table members are bounded by
// the table's size.
func (s *natState) forgetNATted(marked map[krpc.ID]natMark, now time.Time) {
	var gone []krpc.ID
	for id := range marked {
		if s.inTable == nil || !s.inTable(id) {
			gone = append(gone, id)
		}
	}
	slices.SortFunc(gone, func(a, b krpc.ID) int { return cmp.Compare(marked[a].seq, marked[b].seq) })
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range gone {
		m, ok := s.natted[id]
		_, client := s.clients[id]
		switch {
		case !ok || m.seq != marked[id].seq || client:
		case now.Sub(m.at) >= NATMarkGrace || len(s.natted) > NATMaxPeers:
			delete(s.natted, id)
		}
	}
}

// noteCaller records what a query says of its caller: a registration,
// that it needs a rendezvous (even when we turn it down, it is no less
// NAT'd); an ordinary query without ro, that it takes itself for public.
func (s *natState) noteCaller(id krpc.ID, q *krpc.Msg, now time.Time) {
	switch {
	case q.Q == kad.MethodNATRegister:
		s.markNATted(id, now)
	case !q.ReadOnly && !kad.NATMethod(q.Q):
		s.mu.Lock()
		delete(s.natted, id)
		delete(s.clients, id)
		s.mu.Unlock()
	}
}

// peerKind says whether id needs a rendezvous and whether we are one.
func (s *natState) peerKind(id krpc.ID, now time.Time) (natted bool, client natClient, isClient bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, natted = s.natted[id]
	c, ok := s.clients[id]
	return natted, c, ok && now.Before(c.until)
}

// spawn runs f in a goroutine that Close waits for, unless closed.
func (s *natState) spawn(f func()) {
	s.spawnMu.Lock()
	defer s.spawnMu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

func (s *natState) close() {
	s.spawnMu.Lock()
	s.closed = true
	s.spawnMu.Unlock()
	s.wg.Wait()
}

// NATStats is a snapshot of the node's NAT state for metrics and the API.
type NATStats struct {
	Enabled          bool
	Reachability     Reachability
	Reason           string
	ClientMode       bool
	ClientModeReason string
	Rendezvous       int // contacts we are registered with
	Clients          int // nodes registered with us
	PunchesOK        uint64
	PunchesFailed    uint64
	Relays           uint64 // nat_connect requests relayed
	DialBacks        uint64 // dial-backs done for others
	SelfLookups      uint64 // lookups of our own ID for closer rendezvous
	PunchesSkipped   uint64 // NAT'd contacts a lookup passed over: behind a symmetric NAT no punch works
	// PunchesDiscounted are failed punches for requesters that did not
	// know their port to be stable (NATPortUnsure): not in PunchesFailed,
	// and no step towards client mode.
	PunchesDiscounted uint64
}

func (s *natState) stats() NATStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return NATStats{
		Enabled: true, Reachability: s.state, Reason: s.why,
		ClientMode: s.client, ClientModeReason: s.clientWhy,
		Rendezvous: len(s.rendezvous), Clients: len(s.clients),
		PunchesOK: s.punchOK, PunchesFailed: s.punchFailed,
		Relays: s.relays, DialBacks: s.dialBacks, SelfLookups: s.selfLookups,
		PunchesSkipped: s.punchesSkipped, PunchesDiscounted: s.punchDiscounted,
	}
}
