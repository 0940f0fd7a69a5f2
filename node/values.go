package node

import (
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// values is the node's BEP 44 state: the items it holds and put, the write
// tokens it issues, and its counters.
type values struct {
	table  *itemTable
	tokens writeTokens
	gets   atomic.Uint64 // get queries answered
	puts   atomic.Uint64 // put queries that stored (or renewed) an item
	reject [len(rejectReasons)]atomic.Uint64
}

// Reasons a put is refused, as counted in ValueStats.Rejects.
const (
	RejectToken     = "token"         // missing, wrong or expired write token
	RejectTooBig    = "too_big"       // 205
	RejectSignature = "bad_signature" // 206
	RejectSalt      = "salt_too_big"  // 207
	RejectCAS       = "cas_mismatch"  // 301
	RejectSeq       = "seq_too_low"   // 302
	RejectFull      = "full"          // storage full of closer items
	RejectInvalid   = "invalid"       // anything else (not one bencode value, ...)
)

var rejectReasons = [...]string{RejectToken, RejectTooBig, RejectSignature, RejectSalt, RejectCAS, RejectSeq, RejectFull, RejectInvalid}

// rejectReason names the refusal e.
func rejectReason(e *krpc.Error) int {
	var r string
	switch e.Code {
	case krpc.ErrorCodeMessageValueFieldTooBig:
		r = RejectTooBig
	case krpc.ErrorCodeInvalidSignature:
		r = RejectSignature
	case krpc.ErrorCodeSaltFieldTooBig:
		r = RejectSalt
	case krpc.ErrorCodeCasHashMismatched:
		r = RejectCAS
	case krpc.ErrorCodeSequenceNumberLessThanCurrent:
		r = RejectSeq
	case krpc.ErrorCodeServerError:
		r = RejectFull
	default:
		r = RejectInvalid
	}
	for i, name := range rejectReasons {
		if name == r {
			return i
		}
	}
	return len(rejectReasons) - 1
}

// ValueStats is a snapshot of the node's BEP 44 state and counters.
type ValueStats struct {
	ItemCounts
	GetsServed uint64
	PutsServed uint64
	Rejects    map[string]uint64 // by reason (Reject*), zeros left out
}

// ValueStats snapshots the items held and the get and put counters.
func (n *Node) ValueStats() ValueStats {
	s := ValueStats{ItemCounts: n.vals.table.counts(), GetsServed: n.vals.gets.Load(), PutsServed: n.vals.puts.Load(),
		Rejects: map[string]uint64{}}
	for i, name := range rejectReasons {
		if v := n.vals.reject[i].Load(); v > 0 {
			s.Rejects[name] = v
		}
	}
	return s
}

// handleGet answers a BEP 44 get: a write token for the caller, the
// closest contacts and, if held, the item. A mutable item is left out
// when the caller already has its seq ("seq" in the query).
func (n *Node) handleGet(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	now := n.cfg.Clock.Now()
	tok := n.vals.tokens.issue(from, now)
	var item *kad.Item
	if it, ok := n.vals.table.get(q.A.Target, now); ok && !(it.Mutable() && q.A.Seq != nil && it.Seq <= *q.A.Seq) {
		item = &it
	}
	n.vals.gets.Add(1)
	return kad.GetReply(n.self, from.Addr, n.closestExcept(q.A.Target, from.ID), tok, item)
}

// handlePut stores the item of a BEP 44 put, or answers with the error
// code BEP 44 gives the refusal; a refused put changes nothing.
func (n *Node) handlePut(from kad.Peer, q *krpc.Msg) *krpc.Msg {
	now := n.cfg.Clock.Now()
	it := kad.QueryItem(q.A)
	var e *krpc.Error
	switch {
	case it == nil:
		e = &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: `put query has no value "v"`}
	case !n.vals.tokens.valid(from, q.A.Token, now):
		n.vals.reject[0].Add(1)
		return kad.ErrorReply(krpc.ErrorCodeProtocolError, "missing, wrong or expired write token; send a get for the target first and put with its token")
	default:
		e = it.Check()
	}
	if e == nil {
		e = n.vals.table.put(*it, q.A.Cas, from.Addr.Addr(), now)
	}
	if e != nil {
		n.vals.reject[rejectReason(e)].Add(1)
		n.log.Debug("refused put", "from", from.ID, "addr", from.Addr, "code", e.Code, "err", e.Msg)
		return kad.ErrorReply(e.Code, e.Msg)
	}
	n.vals.puts.Add(1)
	return kad.PutReply(n.self, from.Addr)
}

// initValues sets up the node's BEP 44 state and restores its items.
func (n *Node) initValues(now time.Time) error {
	st, _ := n.st.(ItemStore)
	n.vals.table = newItemTable(n.self, n.cfg.Values.withDefaults(), st, n.log)
	n.vals.tokens.init(now)
	return n.vals.table.load(now)
}
