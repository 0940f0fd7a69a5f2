package wire

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/pion/dtls/v2"
)

// A ticket is a session that can be resumed with an abbreviated handshake
// (RFC 5246 7.3): no key exchange, no certificate, no signature by the
// server, one round trip less for the client. The server keeps its
// tickets by session ID; the client keeps them by pion's key for the
// peer's address and, beside each, the ID the server's certificate proved
// in the full handshake, because a resumed handshake shows no
// certificate. The server keeps, beside each, the ID the client's proof
// proved on the full handshake, and resumes only tickets that have one.
// Only the peer that ran that full handshake knows the master secret, so
// a resumed session is with the same node, and both ends know its ID
// without a signature of its own.

// ticket is one resumable session.
type ticket struct {
	key     string
	sess    dtls.Session
	peer    krpc.ID        // the other end's proven ID, once proven is set
	proven  bool           // always on the client; on the server once the client's proof checked
	addr    netip.AddrPort // server side: the client's address then
	expires time.Time
	elem    *list.Element
}

// ticketCache is a bounded store of tickets that expire after
// ticketLifetime; when full, the oldest goes first.
type ticketCache struct {
	mu    sync.Mutex
	now   func() time.Time
	byKey map[string]*ticket
	order list.List // oldest first
}

func newTicketCache(now func() time.Time) *ticketCache {
	return &ticketCache{now: now, byKey: make(map[string]*ticket)}
}

// put keeps tk, its session, peer and address set, under key.
func (c *ticketCache) put(key string, tk ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
	for c.order.Len() >= maxTickets {
		c.removeLocked(c.order.Front().Value.(*ticket).key)
	}
	tk.key, tk.expires = key, c.now().Add(ticketLifetime)
	p := &tk
	p.elem = c.order.PushBack(p)
	c.byKey[key] = p
}

// prove records id as the peer proven on ticket key's full handshake
// (server side).
func (c *ticketCache) prove(key string, id krpc.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tk := c.byKey[key]; tk != nil {
		tk.peer, tk.proven = id, true
	}
}

func (c *ticketCache) get(key string) (ticket, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := c.byKey[key]
	if tk == nil {
		return ticket{}, false
	}
	if !c.now().Before(tk.expires) {
		c.removeLocked(key)
		return ticket{}, false
	}
	return *tk, true
}

// issuedTo reports whether the unexpired ticket key was issued to a
// client at addr that proved its ID on it (server side): a hello that
// offers it will be resumed.
func (c *ticketCache) issuedTo(key string, addr netip.AddrPort) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := c.byKey[key]
	return tk != nil && tk.proven && tk.addr == addr && c.now().Before(tk.expires)
}

func (c *ticketCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}

func (c *ticketCache) removeLocked(key string) {
	if tk := c.byKey[key]; tk != nil {
		c.order.Remove(tk.elem)
		delete(c.byKey, key)
	}
}

// sessionTickets is the dtls.SessionStore of one handshake: it reads and
// writes the transport's ticket cache of its role and tells the session
// whether pion resumed.
type sessionTickets struct{ s *session }

// Set keeps the session that a full handshake just made. The client
// keeps it only with the server's proven ID beside it; the server learns
// the client's ID from its proof, after the handshake (readProof).
func (st sessionTickets) Set(key []byte, sess dtls.Session) error {
	s := st.s
	if !s.client {
		s.t.serverTickets.put(string(key), ticket{sess: sess, addr: s.addr})
		return nil
	}
	if s.certID != nil {
		s.t.clientTickets.put(string(key), ticket{sess: sess, peer: *s.certID, proven: true})
	}
	return nil
}

// Get finds a session to resume. The server resumes only a ticket whose
// client proved its ID. The client offers one only for the ID it
// expects, so a peer known under another ID gets a full handshake that
// shows its certificate.
func (st sessionTickets) Get(key []byte) (dtls.Session, error) {
	s := st.s
	if !s.client {
		tk, ok := s.t.serverTickets.get(string(key))
		if !ok || !tk.proven {
			return dtls.Session{}, nil
		}
		s.ticketUsed, s.ticketPeer = true, tk.peer
		return tk.sess, nil
	}
	tk, ok := s.t.clientTickets.get(string(key))
	if !ok || (s.expect != nil && tk.peer != *s.expect) {
		return dtls.Session{}, nil
	}
	s.ticketUsed, s.ticketPeer = true, tk.peer
	return tk.sess, nil
}

// Del forgets a session pion found broken (a fatal alert on it).
func (st sessionTickets) Del(key []byte) error {
	if st.s.client {
		st.s.t.clientTickets.remove(string(key))
	} else {
		st.s.t.serverTickets.remove(string(key))
	}
	return nil
}
