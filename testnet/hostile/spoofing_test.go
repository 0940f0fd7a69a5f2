package hostile

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/wire"
)

// randomID is a random node ID nobody holds a key for.
func randomID() krpc.ID {
	var id krpc.ID
	rand.Read(id[:])
	return id
}

// totalRPCsIn sums the target's inbound RPC counters: how often its
// handler ran, whatever the outcome.
func (tg *target) totalRPCsIn() uint64 {
	var n uint64
	for _, byOutcome := range tg.Node.Node().Stats().RPCsIn {
		for _, c := range byOutcome {
			n += c
		}
	}
	return n
}

// A query whose "id" is not the ID of the certificate is refused with
// 203, counted, and inserts neither the claimed ID nor the caller; the
// same caller with its own id does get in, so the check is not vacuous.
func TestSpoofedQueryID(t *testing.T) {
	tg := newTarget(t, "", nil, nil)
	r := dialRogue(t, hostIP(blockSpoof, 0), tg.Addr)
	forged := randomID()
	before := tg.dropped("id_mismatch")
	for i, q := range []*krpc.Msg{kad.PingQuery(forged, false), kad.FindNodeQuery(forged, randomID(), false)} {
		reply := r.query(t, fmt.Sprintf("f%d", i), q)
		if reply.Y != krpc.YError || reply.E == nil || reply.E.Code != krpc.ErrorCodeProtocolError {
			t.Fatalf("%s with a forged id: got %+v, want KRPC error 203", q.Q, reply)
		}
	}
	if got := tg.dropped("id_mismatch") - before; got != 2 {
		t.Errorf("id_mismatch counted %d times, want 2", got)
	}
	if tg.inTable(forged) || tg.inTable(r.id.ID) {
		t.Error("a query with a forged id put someone in the table")
	}
	if n := tg.totalRPCsIn(); n != 0 {
		t.Errorf("the node's handler ran %d times for forged queries", n)
	}

	if reply := r.query(t, "ok", kad.PingQuery(r.id.ID, false)); reply.Y != krpc.YResponse {
		t.Fatalf("ping with the certificate's id: got %+v, want a response", reply)
	}
	if !tg.inTable(r.id.ID) {
		t.Fatal("the same caller with its own id was not inserted")
	}
	t.Logf("forged-id queries: 2 refused with 203, 2 counted as id_mismatch, 0 inserted")
}

// The node pings one peer. Responses from another peer (an address that
// was not queried), responses with unknown transaction IDs and responses
// whose id is not the responder's certificate are all dropped and
// counted; only the genuine response completes the call, and nobody is
// inserted.
func TestSpoofedResponses(t *testing.T) {
	tg := newTarget(t, "", nil, nil)
	queried := dialRogue(t, hostIP(blockSpoof, 1), tg.Addr)
	other := dialRogue(t, hostIP(blockSpoof, 2), tg.Addr)

	type pingResult struct {
		peer kad.Peer
		err  error
	}
	done := make(chan pingResult, 1)
	go func() {
		p, _, err := tg.Node.Node().Ping(context.Background(), kad.Endpoint{Host: queried.addr.Addr().String(), Port: queried.addr.Port()})
		done <- pingResult{p, err}
	}()
	q := queried.recv(t)
	if q.Y != krpc.YQuery || q.Q != kad.MethodPing {
		t.Fatalf("the queried peer got %+v, want a ping", q)
	}
	unknown, mismatch := tg.dropped("unknown_txid"), tg.dropped("id_mismatch")
	expect := func(what string, wantUnknown, wantMismatch uint64) {
		t.Helper()
		waitFor(t, what+" to be counted", func() bool {
			return tg.dropped("unknown_txid")-unknown == wantUnknown && tg.dropped("id_mismatch")-mismatch == wantMismatch
		})
		select {
		case r := <-done:
			t.Fatalf("after %s the call completed: %+v", what, r)
		default:
		}
	}
	response := func(tx string, id krpc.ID) *krpc.Msg {
		return &krpc.Msg{T: tx, Y: krpc.YResponse, R: &krpc.Return{ID: id, Nodes: poisonNodes()}}
	}

	// From an address that was not queried, with the right transaction ID.
	other.send(t, response(q.T, other.id.ID))
	other.send(t, &krpc.Msg{T: q.T, Y: krpc.YError, E: &krpc.Error{Code: krpc.ErrorCodeGenericError, Msg: "forged"}})
	other.send(t, response(q.T, queried.id.ID))
	expect("responses from an address that was not queried", 2, 1)

	// From the queried address, with transaction IDs it was not sent.
	queried.send(t, response(q.T+"x", queried.id.ID))
	queried.send(t, response("zz", queried.id.ID))
	queried.send(t, &krpc.Msg{T: "zz", Y: krpc.YError, E: &krpc.Error{Code: krpc.ErrorCodeGenericError, Msg: "forged"}})
	expect("responses with unknown transaction IDs", 5, 1)

	// From the queried address, with the right transaction ID but another
	// node's id.
	queried.send(t, response(q.T, other.id.ID))
	expect("a response whose id is not the responder's", 5, 2)

	queried.send(t, &krpc.Msg{T: q.T, Y: krpc.YResponse, R: &krpc.Return{ID: queried.id.ID}})
	r := <-done
	if r.err != nil || r.peer.ID != queried.id.ID {
		t.Fatalf("the genuine response: ping returned %+v, %v; want the queried peer", r.peer, r.err)
	}
	for _, id := range []krpc.ID{queried.id.ID, other.id.ID} {
		if tg.inTable(id) {
			t.Errorf("%x is in the table after forged responses", id)
		}
	}
	for _, n := range poisonNodes() {
		if tg.inTable(n.ID) {
			t.Errorf("a node from a forged response, %x, is in the table", n.ID)
		}
	}
	t.Logf("forged responses: 5 counted as unknown_txid, 2 as id_mismatch; the call completed only with the genuine one; 0 inserted")
}

// poisonNodes is the contact list a forged find_node response carries.
func poisonNodes() []krpc.NodeInfo {
	var out []krpc.NodeInfo
	for i := range 3 {
		var ni krpc.NodeInfo
		ni.ID = krpc.ID{0xee, byte(i)}
		ni.Addr.FromAddrPort(netip.AddrPortFrom(hostIP(blockSpoof, 100+i), 6881))
		out = append(out, ni)
	}
	return out
}

// Replayed datagrams: a query record replayed in its session is served
// once (DTLS's replay window); the same record from another address has
// no session; the ClientHellos that opened the session, replayed from its
// address, are stale. The stranger and stale hellos are counted.
func TestReplayedDatagrams(t *testing.T) {
	tg := newTarget(t, "", nil, nil)
	r := dialRogue(t, hostIP(blockSpoof, 3), tg.Addr)
	handshake := r.sock.written()

	sentBefore := len(r.sock.written())
	if reply := r.query(t, "q1", kad.FindNodeQuery(r.id.ID, randomID(), false)); reply.Y != krpc.YResponse {
		t.Fatalf("find_node: got %+v, want a response", reply)
	}
	sent := r.sock.written()
	if len(sent) != sentBefore+1 {
		t.Fatalf("the query went out in %d datagrams, want 1", len(sent)-sentBefore)
	}
	queryRecord := sent[sentBefore]
	served := tg.rpcsIn(kad.MethodFindNode, "ok")
	stale, noSession := tg.dropped("stale_hello"), tg.dropped("no_session")

	const replays = 5
	for range replays {
		if _, err := r.sock.UDPConn.Write(queryRecord); err != nil {
			t.Fatal(err)
		}
	}
	var hellos int
	for _, d := range handshake {
		if wire.Classify(d).Kind == wire.KindClientHello {
			hellos++
			if _, err := r.sock.UDPConn.Write(d); err != nil {
				t.Fatal(err)
			}
		}
	}
	stranger := udpOn(t, hostIP(blockSpoof, 4))
	for range replays {
		if _, err := stranger.WriteToUDPAddrPort(queryRecord, tg.Addr); err != nil {
			t.Fatal(err)
		}
	}

	// A fresh query is the fence: the session answers in order, so a
	// replay that got through would be answered before it.
	if reply := r.query(t, "q2", kad.PingQuery(r.id.ID, false)); reply.T != "q2" {
		t.Fatalf("after the replays the next message is %+v, want the answer to q2", reply)
	}
	if got := tg.rpcsIn(kad.MethodFindNode, "ok") - served; got != 0 {
		t.Errorf("the replayed find_node was served %d more times", got)
	}
	waitFor(t, "replays from a stranger to be counted", func() bool { return tg.dropped("no_session")-noSession == replays })
	if got := tg.dropped("stale_hello") - stale; got != uint64(hellos) {
		t.Errorf("%d replayed ClientHellos counted as stale_hello %d times", hellos, got)
	}
	if st := tg.Transport().Stats(); st.PendingHandshakes != 0 || st.LiveSessions != 1 {
		t.Errorf("after the replays: %d pending handshakes and %d sessions, want 0 and 1", st.PendingHandshakes, st.LiveSessions)
	}
	t.Logf("replays: %d in-session (served 0 times, not counted: DTLS drops them inside pion), "+
		"%d from a stranger (counted as no_session), %d ClientHellos (counted as stale_hello)", replays, replays, hellos)
}
