package node

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"golang.org/x/time/rate"
)

// TestHandOutOnlyUsableAddresses: a NAT'd contact goes into find_node
// answers only while it is our rendezvous client with a live session, and
// then with port 0; a contact that reached us without registering goes
// out as it is.
func TestHandOutOnlyUsableAddresses(t *testing.T) {
	n, tr := newNATTestNode(t)
	n.markJoined()
	client := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.5:6881")}
	public := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.6:6881")}
	asker := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.7:6881")}
	reg := kad.NATQuery(kad.MethodNATRegister, client.ID, krpc.ID{}, netip.AddrPort{}, false)
	if r := n.handle(client, reg); r == nil || r.E != nil {
		t.Fatalf("nat_register refused: %+v", r)
	}
	if r := n.handle(public, kad.PingQuery(public.ID, false)); r == nil || r.E != nil {
		t.Fatalf("ping refused: %+v", r)
	}
	answer := func() map[krpc.ID]int {
		r := n.handle(asker, kad.FindNodeQuery(asker.ID, krpc.RandomNodeID(), true))
		ports := map[krpc.ID]int{}
		r.R.ForAllNodes(func(ni krpc.NodeInfo) { ports[ni.ID] = ni.Addr.Port })
		return ports
	}
	tr.live.Store(true)
	got := answer()
	if p, ok := got[client.ID]; !ok || p != 0 {
		t.Fatalf("live client handed out as %v (present %v), want port 0", p, ok)
	}
	if got[public.ID] != 6881 {
		t.Fatalf("public contact handed out with port %d", got[public.ID])
	}
	tr.live.Store(false)
	if _, ok := answer()[client.ID]; ok {
		t.Fatal("client handed out without a live session")
	}
	// A query without ro from the client says it is public now.
	n.handle(client, kad.PingQuery(client.ID, false))
	if got := answer(); got[client.ID] != 6881 {
		t.Fatalf("client that turned public handed out as %+v", got)
	}
}

// TestRefusedRegistrationNotHandedOut: a node that registers when our
// rendezvous list is full is still NAT'd. The table inserts it (its query
// has no ro), so it must be marked before that, and find_node answers
// must not give it out at its address.
func TestRefusedRegistrationNotHandedOut(t *testing.T) {
	n, tr := newNATTestNode(t)
	n.markJoined()
	tr.live.Store(true)
	now := n.cfg.Clock.Now()
	n.nat.mu.Lock()
	for range NATMaxClients {
		n.nat.clients[krpc.RandomNodeID()] = natClient{until: now.Add(time.Hour)}
	}
	n.nat.mu.Unlock()
	late := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.5:6881")}
	asker := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.7:6881")}
	r := n.handle(late, kad.NATQuery(kad.MethodNATRegister, late.ID, krpc.ID{}, netip.AddrPort{}, false))
	if r == nil || r.E == nil {
		t.Fatalf("registration past NATMaxClients accepted: %+v", r)
	}
	if _, ok := n.table.Get(late.ID); !ok {
		t.Fatal("the table did not take the registering node; this test no longer checks the order")
	}
	r = n.handle(asker, kad.FindNodeQuery(asker.ID, late.ID, true))
	r.R.ForAllNodes(func(ni krpc.NodeInfo) {
		if ni.ID == late.ID {
			t.Fatalf("NAT'd node with a refused registration handed out at %v", ni.Addr)
		}
	})
}

// TestNATMarksOutliveOverflow: past NATMaxPeers only the marks of
// contacts the table does not hold go; a table member stays NAT'd, or
// answers would hand it out at its address.
func TestNATMarksOutliveOverflow(t *testing.T) {
	n, _ := newNATTestNode(t)
	n.markJoined()
	member := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.5:6881")}
	n.handle(member, kad.NATQuery(kad.MethodNATRegister, member.ID, krpc.ID{}, netip.AddrPort{}, false))
	if _, ok := n.table.Get(member.ID); !ok {
		t.Fatal("the table did not take the registering node")
	}
	now := n.cfg.Clock.Now()
	for i := range NATMaxPeers + 10 {
		n.nat.markNATted(krpc.RandomNodeID(), now.Add(time.Duration(i+1)*time.Millisecond))
	}
	natted, _, _ := n.nat.peerKind(member.ID, now)
	n.nat.mu.Lock()
	size := len(n.nat.natted)
	n.nat.mu.Unlock()
	if !natted {
		t.Fatal("a table member's NAT mark was forgotten on overflow")
	}
	if size > NATMaxPeers {
		t.Fatalf("%d NAT marks kept, bound %d", size, NATMaxPeers)
	}
	// Past NATMarkGrace the marks of contacts not in the table go, but
	// one marked again since the snapshot stays: it may be joining the
	// table right now.
	n.nat.mu.Lock()
	snap := maps.Clone(n.nat.natted)
	n.nat.mu.Unlock()
	var again krpc.ID
	for id := range snap {
		if id != member.ID {
			again = id
			break
		}
	}
	n.nat.markNATted(again, now)
	n.nat.forgetNATted(snap, now.Add(time.Hour+NATMarkGrace))
	n.nat.mu.Lock()
	size = len(n.nat.natted)
	n.nat.mu.Unlock()
	if natted, _, _ := n.nat.peerKind(again, now); !natted {
		t.Fatal("a mark made again after the snapshot was forgotten")
	}
	if natted, _, _ := n.nat.peerKind(member.ID, now); !natted || size != 2 {
		t.Fatalf("%d marks kept after the grace (member kept: %v), want the member's and the one made again", size, natted)
	}
}

// TestNATRequestsRefused: relays, punches and dial-backs that would make
// the node a weapon or a tool of a stranger are refused with a reason.
func TestNATRequestsRefused(t *testing.T) {
	n, tr := newNATTestNode(t)
	tr.live.Store(true)
	stranger := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.8:6881")}
	victim := netip.MustParseAddrPort("198.51.100.9:53")
	cases := map[string]*krpc.Msg{
		"punch from a node we did not register with": kad.NATQuery(kad.MethodNATPunch, stranger.ID, krpc.RandomNodeID(), victim, false),
		"connect to a node that is not our client":   kad.NATQuery(kad.MethodNATConnect, stranger.ID, krpc.RandomNodeID(), netip.AddrPort{}, false),
		"connect to the caller itself":               kad.NATQuery(kad.MethodNATConnect, stranger.ID, stranger.ID, netip.AddrPort{}, false),
		"dial without an address":                    kad.NATQuery(kad.MethodNATDial, stranger.ID, krpc.RandomNodeID(), netip.AddrPort{}, false),
		"check without a nonce":                      kad.NATQuery(kad.MethodNATCheck, stranger.ID, krpc.ID{}, netip.AddrPort{}, false),
	}
	for name, q := range cases {
		t.Run(name, func(t *testing.T) {
			r := n.handle(stranger, q)
			if r == nil || r.E == nil || r.E.Msg == "" {
				t.Fatalf("not refused with a reason: %+v", r)
			}
		})
	}
	if st := n.natStats(); st.PunchesOK+st.PunchesFailed+st.DialBacks+st.Relays != 0 {
		t.Fatalf("a refused request was acted on: %+v", st)
	}
}

// TestAnsweredPeerCannotVerify: a peer whose queries we answer keeps our
// NAT's mapping towards it open, however long ago we last called it, so
// its dial-back must not make us public (the simulator's cone-NAT nodes
// turned public this way).
func TestAnsweredPeerCannotVerify(t *testing.T) {
	n, _ := newNATTestNode(t)
	n.markJoined()
	peer := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.9:6881")}
	stranger := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.10:6881")}
	nonce := func() krpc.ID {
		id := krpc.RandomNodeID()
		n.nat.mu.Lock()
		n.nat.nonces[id] = n.cfg.Clock.Now().Add(time.Minute)
		n.nat.mu.Unlock()
		return id
	}
	if r := n.handle(peer, kad.PingQuery(peer.ID, true)); r == nil || r.E != nil {
		t.Fatalf("ping refused: %+v", r)
	}
	n.handle(peer, kad.NATQuery(kad.MethodNATNonce, peer.ID, nonce(), netip.AddrPort{}, false))
	if n.nat.public() || n.nat.verified {
		t.Fatal("a dial-back from a peer we answer verified us")
	}
	n.handle(stranger, kad.NATQuery(kad.MethodNATNonce, stranger.ID, nonce(), netip.AddrPort{}, false))
	if !n.nat.verified {
		t.Fatal("a first-contact dial-back did not verify us")
	}
}

// TestSentOverflowCannotVerify: once more addresses were sent to than
// NATMaxPeers within NATSentMemory, the node no longer knows whom it sent
// to, so no dial-back may verify it until the forgotten ones age out.
func TestSentOverflowCannotVerify(t *testing.T) {
	n, _ := newNATTestNode(t)
	n.markJoined()
	now := n.cfg.Clock.Now()
	for i := range NATMaxPeers + 1 {
		n.nat.sentTo(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 6881), now)
	}
	nonce := krpc.RandomNodeID()
	n.nat.mu.Lock()
	n.nat.nonces[nonce] = now.Add(time.Hour)
	n.nat.mu.Unlock()
	// 10.0.0.1 was sent to and then forgotten when the memory overflowed.
	if n.nat.nonceFrom(nonce, netip.MustParseAddrPort("10.0.0.1:6881"), now.Add(time.Second)) {
		t.Fatal("a dial-back verified us right after the sent-to memory overflowed")
	}
	if !n.nat.nonceFrom(nonce, netip.MustParseAddrPort("203.0.113.10:6881"), now.Add(NATSentMemory+time.Second)) {
		t.Fatal("a first-contact dial-back did not verify us once the forgotten addresses aged out")
	}
}

// TestRelayBudgetsOutliveOverflow: past NATMaxPeers requesters, a busy
// requester keeps its spent budget (clearing the map would hand it a
// fresh burst); only refilled budgets are forgotten, and with none
// refilled a newcomer is refused.
func TestRelayBudgetsOutliveOverflow(t *testing.T) {
	n, _ := newNATTestNode(t)
	busy := krpc.RandomNodeID()
	for range NATRelayBurst {
		if !n.nat.allow(busy) {
			t.Fatal("a fresh requester was refused within its burst")
		}
	}
	for range NATMaxPeers - 1 {
		l := rate.NewLimiter(rate.Limit(NATRelayRate), NATRelayBurst)
		l.AllowN(time.Now(), NATRelayBurst)
		n.nat.limiters[krpc.RandomNodeID()] = l
	}
	if n.nat.allow(krpc.RandomNodeID()) {
		t.Fatal("a newcomer was let in while every kept budget was spent")
	}
	if _, kept := n.nat.limiters[busy]; !kept {
		t.Fatal("the busy requester's spent budget was forgotten")
	}
	n.nat.limiters[krpc.RandomNodeID()] = rate.NewLimiter(rate.Limit(NATRelayRate), NATRelayBurst)
	delete(n.nat.limiters, busy)
	if !n.nat.allow(krpc.RandomNodeID()) {
		t.Fatal("a newcomer was refused although a refilled budget could be forgotten")
	}
}

// TestNATdNodeStoresAsReadOnly: until verified public, a node's get and
// put queries carry ro like its find_node queries, so that storing or
// fetching a value does not get it inserted (and handed out) at an
// address nobody else can reach.
func TestNATdNodeStoresAsReadOnly(t *testing.T) {
	fn := newFakeNet()
	seed := startNode(t, fn, Config{K: 8})
	seed.markJoined()
	natted := startNode(t, fn, Config{K: 8, NAT: NATConfig{Enabled: true}, Seeds: []kad.Endpoint{kad.EndpointOf(seed.self, seed.listen)}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := natted.WaitJoined(ctx); err != nil {
		t.Fatal(err)
	}
	it := immutable(t, "behind a NAT")
	if res, err := natted.PutItem(ctx, it, 0); err != nil || res.Tried == 0 {
		t.Fatalf("put: %+v, %v", res, err)
	}
	if _, err := natted.GetItem(ctx, it.Target(), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := seed.table.Get(natted.self); ok {
		t.Fatal("the seed inserted a node that is not verified public")
	}
}

// TestPunchFailureForUnsureAsker: a punch relayed for a requester that is
// not sure of its port (behind a symmetric NAT, or not classified yet)
// may fail through that NAT alone, so it does not count towards the
// target's client mode; one for a requester that is sure still does.
func TestPunchFailureForUnsureAsker(t *testing.T) {
	rv, tr := newNATTestNode(t)
	tr.live.Store(true)
	target := startNode(t, tr.net, Config{NAT: NATConfig{Enabled: true}})
	// The target is the rendezvous' client and takes punch requests from it.
	reg := kad.NATQuery(kad.MethodNATRegister, target.self, krpc.ID{}, netip.AddrPort{}, false)
	if r := rv.handle(kad.Peer{ID: target.self, Addr: target.listen}, reg); r == nil || r.E != nil {
		t.Fatalf("nat_register refused: %+v", r)
	}
	target.nat.mu.Lock()
	target.nat.rendezvous[rv.self] = rendezvousEntry{addr: rv.listen, last: time.Now()}
	target.nat.mu.Unlock()
	// Askers at addresses where nobody answers: every punch fails.
	connect := func(unsure bool) {
		asker := tr.net.endpoint()
		q := kad.NATQuery(kad.MethodNATConnect, asker.id, target.self, netip.AddrPort{}, true)
		if unsure {
			q.A.Want = []krpc.Want{kad.NATPortUnsure}
		}
		if r := rv.handle(kad.Peer{ID: asker.id, Addr: asker.addr}, q); r == nil || r.E != nil {
			t.Fatalf("nat_connect refused: %+v", r)
		}
	}
	connect(true)
	eventually(t, "the punch for the unsure asker to end", func() bool { return target.natStats().PunchesDiscounted == 1 })
	if st := target.natStats(); st.PunchesFailed != 0 {
		t.Fatalf("a punch that failed for an asker unsure of its port counted against the target: %+v", st)
	}
	connect(false)
	eventually(t, "the punch for the sure asker to fail", func() bool { return target.natStats().PunchesFailed == 1 })
	if st := target.natStats(); st.PunchesDiscounted != 1 {
		t.Fatalf("discounted %d punches, want the one of the unsure asker", st.PunchesDiscounted)
	}
}

// TestLookupKeepsFallbackRendezvous: a lookup keeps, for a NAT'd contact
// not yet tried, each distinct node that gave it out with port 0, up to
// NATRendezvousTries, in the order they did.
func TestLookupKeepsFallbackRendezvous(t *testing.T) {
	n, _ := newNATTestNode(t)
	l := &lookup{n: n, target: krpc.RandomNodeID()}
	natted := krpc.NodeInfo{ID: krpc.RandomNodeID(), Addr: krpc.NodeAddr{IP: netip.MustParseAddr("203.0.113.9").AsSlice(), Port: 0}}
	var givers []*candidate
	for i := range NATRendezvousTries + 2 {
		givers = append(givers, &candidate{id: krpc.RandomNodeID(), addr: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(7000+i)), round: 1})
	}
	l.addRendezvous(natted, givers[0])
	l.addRendezvous(natted, givers[0]) // the same node twice counts once
	for _, g := range givers[1:] {
		l.addRendezvous(natted, g)
	}
	c := l.candidate(natted.ID)
	if c == nil || len(c.vias) != NATRendezvousTries {
		t.Fatalf("candidate %+v: want %d rendezvous kept", c, NATRendezvousTries)
	}
	for i, v := range c.vias {
		if v.ID != givers[i].id || v.Addr != givers[i].addr {
			t.Errorf("rendezvous %d is %x@%v, want %x@%v", i, v.ID, v.Addr, givers[i].id, givers[i].addr)
		}
	}
	// Once the contact has been tried, later givers are not kept.
	c.state = candWaiting
	c.vias = c.vias[:1]
	l.addRendezvous(natted, givers[1])
	if len(c.vias) != 1 {
		t.Errorf("a rendezvous was added to a contact already tried: %+v", c.vias)
	}
}

// TestPunchFallsBackToNextRendezvous: when the first rendezvous refuses
// to relay, the next is asked, and its answer gives the target's address;
// when every one refuses, the error says why for each.
func TestPunchFallsBackToNextRendezvous(t *testing.T) {
	n, tr := newNATTestNode(t)
	fn := tr.fakeTransport.net
	target := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.9:6881")}
	var asked []string
	var mu sync.Mutex
	serve := func(name string, h kad.Handler) kad.Peer {
		ep := fn.endpoint()
		ep.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
			mu.Lock()
			asked = append(asked, name)
			mu.Unlock()
			return h(from, q)
		})
		return kad.Peer{ID: ep.id, Addr: ep.addr}
	}
	refusing := serve("refusing", func(kad.Peer, *krpc.Msg) *krpc.Msg {
		return kad.ErrorReply(krpc.ErrorCodeServerError, "too many rendezvous requests; slow down")
	})
	var relaying kad.Peer
	relaying = serve("relaying", func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
		return kad.NATConnectReply(relaying.ID, from.Addr, q.A.Target, target.Addr)
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	addr, err := n.natConnectVia(ctx, []kad.Peer{refusing, relaying}, target.ID)
	if err != nil || addr != target.Addr {
		t.Fatalf("natConnectVia = %v, %v: want %v from the second rendezvous", addr, err, target.Addr)
	}
	if want := []string{"refusing", "relaying"}; !slices.Equal(asked, want) {
		t.Errorf("asked %v, want %v", asked, want)
	}
	if _, err := n.natConnectVia(ctx, []kad.Peer{refusing, refusing}, target.ID); err == nil || !strings.Contains(err.Error(), "slow down") {
		t.Errorf("every rendezvous refused, got error %v: want their reasons", err)
	}
}

// A dial-back is a probe: behind a filtering NAT the asker must not
// answer, so the transport counts its handshake timeout apart.
func TestDialBackIsAProbe(t *testing.T) {
	n, tr := newNATTestNode(t)
	asker := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("203.0.113.8:6881")}
	observed := netip.MustParseAddrPort("203.0.113.8:7000")
	if r := n.handle(asker, kad.NATQuery(kad.MethodNATDial, asker.ID, krpc.RandomNodeID(), observed, false)); r == nil || r.E != nil {
		t.Fatalf("dial-back request refused: %+v", r)
	}
	eventually(t, "the dial-back to be done", func() bool { return n.natStats().DialBacks == 1 })
	if got := tr.probes.Load(); got != 1 {
		t.Fatalf("%d calls marked as probes, want the dial-back's 1", got)
	}
}
