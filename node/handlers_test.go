package node

import (
	"net/netip"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestCallerIsInsertedWithCertIDAndSourceAddress(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	a := startNode(t, fn, Config{Seeds: []kad.Endpoint{s.contact()}})
	waitJoined(t, a)
	got, ok := s.table.Get(a.tr.id)
	if !ok {
		t.Fatal("seed did not insert the node that joined through it")
	}
	if got.Addr != a.tr.addr {
		t.Fatalf("seed holds %s for the joiner, want its source address %s", got.Addr, a.tr.addr)
	}
	if s.Stats().RPCsIn[kad.MethodPing][outcomeOK] == 0 {
		t.Fatalf("seed counted no ping: %v", s.Stats().RPCsIn)
	}
}

func TestInvalidQueriesAreRefusedAndInsertNothing(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	caller := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("127.0.0.1:5000")}
	other := krpc.RandomNodeID()
	cases := []struct {
		name string
		q    *krpc.Msg
		code int
	}{
		{"id differs from certificate", kad.PingQuery(other, false), krpc.ErrorCodeProtocolError},
		{"find_node id differs", kad.FindNodeQuery(other, other, false), krpc.ErrorCodeProtocolError},
		{"unknown method", &krpc.Msg{Y: "q", Q: "get_peers", A: &krpc.MsgArgs{ID: caller.ID}}, krpc.ErrorCodeMethodUnknown},
		{"no arguments", &krpc.Msg{Y: "q", Q: kad.MethodPing}, krpc.ErrorCodeProtocolError},
		{"find_node without target", &krpc.Msg{Y: "q", Q: kad.MethodFindNode, A: &krpc.MsgArgs{ID: caller.ID}}, krpc.ErrorCodeProtocolError},
		{"caller claims our ID", kad.PingQuery(s.self, false), krpc.ErrorCodeProtocolError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from := caller
			if c.q.A != nil && c.q.A.ID == s.self {
				from.ID = s.self
			}
			reply := s.handle(from, c.q)
			if reply == nil || reply.E == nil {
				t.Fatalf("got %+v, want a KRPC error", reply)
			}
			if reply.E.Code != c.code {
				t.Fatalf("error code %d (%s), want %d", reply.E.Code, reply.E.Msg, c.code)
			}
			if s.table.Len() != 0 {
				t.Fatalf("table has %d contacts after an invalid query", s.table.Len())
			}
		})
	}
	if got := s.rpcsIn.get(methodUnknown, outcomeInvalid); got != 1 {
		t.Fatalf("unknown-method invalid count %d, want 1", got)
	}
	if got := s.rpcsIn.get(kad.MethodPing, outcomeInvalid); got != 3 {
		t.Fatalf("ping invalid count %d, want 3", got)
	}
}

func TestReadOnlyCallerIsAnsweredButNotInserted(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	caller := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("127.0.0.1:5000")}
	reply := s.handle(caller, kad.PingQuery(caller.ID, true))
	if reply == nil || reply.R == nil || reply.R.ID != s.self {
		t.Fatalf("read-only ping got %+v, want a reply with our ID", reply)
	}
	if s.table.Len() != 0 {
		t.Fatal("read-only caller was inserted")
	}
	s.handle(caller, kad.PingQuery(caller.ID, false))
	if _, ok := s.table.Get(caller.ID); !ok {
		t.Fatal("the same caller without ro was not inserted")
	}
}

func TestCallersWaitUntilOwnBootstrapIsDone(t *testing.T) {
	fn := newFakeNet()
	dead := fn.endpoint() // a seed that never answers
	seed := kad.Endpoint{ID: dead.id, HasID: true, Host: "127.0.0.1", Port: dead.addr.Port()}
	n := startNode(t, fn, Config{Seeds: []kad.Endpoint{seed}})
	caller := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("127.0.0.1:5000")}
	if reply := n.handle(caller, kad.PingQuery(caller.ID, false)); reply == nil || reply.R == nil {
		t.Fatalf("got %+v, want an answer before the join too", reply)
	}
	if n.Self().Joined {
		t.Fatal("joined without any seed answering")
	}
	if n.table.Len() != 0 {
		t.Fatal("a caller was inserted before our own bootstrap was done")
	}
}

func TestFindNodeReturnsKClosestWithoutCallerAndCarriesIP(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{K: 5})
	var ids []krpc.ID
	for i := range 12 {
		p := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 1, byte(i)}), 7000)}
		s.table.Seen(p)
		ids = append(ids, p.ID)
	}
	caller := kad.Peer{ID: ids[0], Addr: netip.MustParseAddrPort("127.0.0.9:7100")}
	target := ids[0] // the caller is the very closest: it must be left out
	reply := s.handle(caller, kad.FindNodeQuery(caller.ID, target, false))
	if reply == nil || reply.R == nil {
		t.Fatalf("got %+v, want a reply", reply)
	}
	if got := reply.IP.ToNodeAddrPort().AddrPort; got != caller.Addr {
		t.Fatalf("ip field %v, want the caller's address %v", got, caller.Addr)
	}
	var members []krpc.ID // a bucket of 5 may have sent some to its replacements
	for _, c := range s.table.Contacts() {
		if c.Place == kad.InBucket && c.ID != caller.ID {
			members = append(members, c.ID)
		}
	}
	want := trueClosest(members, target, 5)
	if len(reply.R.Nodes) != len(want) {
		t.Fatalf("got %d nodes, want %d", len(reply.R.Nodes), len(want))
	}
	for i, ni := range reply.R.Nodes {
		if ni.ID == caller.ID {
			t.Fatal("find_node returned the caller to itself")
		}
		if ni.ID != want[i] {
			t.Fatalf("node %d is %x, want %x", i, ni.ID, want[i])
		}
	}
}

func TestReadOnlyNodeDoesNotServe(t *testing.T) {
	fn := newFakeNet()
	ro := startNode(t, fn, Config{ReadOnly: true})
	caller := kad.Peer{ID: krpc.RandomNodeID(), Addr: netip.MustParseAddrPort("127.0.0.1:5000")}
	if reply := ro.handle(caller, kad.PingQuery(caller.ID, false)); reply != nil {
		t.Fatalf("read-only node answered: %+v", reply)
	}
	if ro.table.Len() != 0 {
		t.Fatal("read-only node inserted a caller")
	}
	if got := ro.rpcsIn.get(kad.MethodPing, outcomeIgnored); got != 1 {
		t.Fatalf("ignored count %d, want 1", got)
	}
}
