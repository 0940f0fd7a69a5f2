package wire

import (
	"bytes"
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/pion/dtls/v2"
)

// A ticket is a session that can be resumed with an abbreviated handshake
// (RFC 5246 7.3): no key exchange, no certificate, no signature by the
// server, one round trip less for the client. Beside each, a node keeps
// the other end's ID as the full handshake proved it: the server's from
// its certificate, because a resumed handshake shows none; the client's
// from its proof. Only the peer that ran that full handshake knows the
// master secret, so a resumed session is with the same node, and both
// ends know its ID without a signature of its own.
//
// Either end resumes a session in either role: nodes are peers, and the
// one that answered is as likely to call next. So a ticket is found both
// ways: by session ID, as a pion server looks it up, and by pion's client
// key for the other end's address (one socket serves both directions, so
// the address a client called from is the one to call back). A server's
// ticket joins the second index only once the client's proof has
// checked; it resumes only such tickets.

// ticket is one resumable session.
type ticket struct {
	sess    dtls.Session
	peer    krpc.ID        // the other end's proven ID, once proven is set
	proven  bool           // at once when we were the client; on the server once the client's proof checked
	addr    netip.AddrPort // the other end's address
	expires time.Time
	elem    *list.Element
}

// ticketCache is a bounded store of tickets that expire after
// ticketLifetime; when full, the oldest goes first. It holds a node's
// tickets of both roles, one per full handshake.
type ticketCache struct {
	mu        sync.Mutex
	now       func() time.Time
	bySession map[string]*ticket // by session ID (pion's server key)
	byPeer    map[string]*ticket // proven ones, by clientTicketKey(addr)
	order     list.List          // oldest first
}

func newTicketCache(now func() time.Time) *ticketCache {
	return &ticketCache{now: now, bySession: make(map[string]*ticket), byPeer: make(map[string]*ticket)}
}

// len is how many tickets c holds.
func (c *ticketCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// put keeps tk, its session and address set, and its peer once proven.
// A session ID already held keeps its ticket. pion's server stores a
// session again when it parses the client's last flight a second time;
// that is the same session. Otherwise the ID was chosen by a peer (on the
// client side), which must not displace a ticket made with another node:
// the new ticket is then found by address only, if proven, or not kept.
func (c *ticketCache) put(tk ticket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := string(tk.sess.ID)
	held := c.bySession[id]
	if held != nil && (bytes.Equal(held.sess.Secret, tk.sess.Secret) || !tk.proven) {
		return
	}
	for c.order.Len() >= maxTickets {
		c.removeLocked(c.order.Front().Value.(*ticket))
	}
	tk.expires = c.now().Add(ticketLifetime)
	p := &tk
	p.elem = c.order.PushBack(p)
	if held == nil {
		c.bySession[id] = p
	}
	if tk.proven {
		c.indexPeerLocked(p)
	}
}

// indexPeerLocked makes p the ticket for its address; the one it replaces
// is forgotten, since one session per peer is enough to resume.
func (c *ticketCache) indexPeerLocked(p *ticket) {
	key := clientTicketKey(p.addr)
	if old := c.byPeer[key]; old != nil && old != p {
		c.removeLocked(old)
	}
	c.byPeer[key] = p
}

// prove records id as the peer proven on the full handshake of the
// ticket with sessionID (server side), which can then be resumed in
// either role.
func (c *ticketCache) prove(sessionID string, id krpc.ID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tk := c.bySession[sessionID]; tk != nil && !tk.proven {
		tk.peer, tk.proven = id, true
		c.indexPeerLocked(tk)
	}
}

// session finds the unexpired ticket with sessionID (server side).
func (c *ticketCache) session(sessionID string) (ticket, bool) {
	return c.lookup(c.bySession, sessionID)
}

// forPeer finds the unexpired proven ticket for pion's client key (client
// side).
func (c *ticketCache) forPeer(key string) (ticket, bool) {
	return c.lookup(c.byPeer, key)
}

func (c *ticketCache) lookup(index map[string]*ticket, key string) (ticket, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := index[key]
	if tk == nil {
		return ticket{}, false
	}
	if !c.now().Before(tk.expires) {
		c.removeLocked(tk)
		return ticket{}, false
	}
	return *tk, true
}

// issuedTo reports whether the unexpired ticket with sessionID was made
// with a node at addr that proved its ID on it: a hello from addr that
// offers it will be resumed.
func (c *ticketCache) issuedTo(sessionID string, addr netip.AddrPort) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := c.bySession[sessionID]
	return tk != nil && tk.proven && tk.addr == addr && c.now().Before(tk.expires)
}

// remove forgets the ticket that key names, as a session ID or as a
// client key.
func (c *ticketCache) remove(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tk := c.bySession[key]; tk != nil {
		c.removeLocked(tk)
	}
	if tk := c.byPeer[key]; tk != nil {
		c.removeLocked(tk)
	}
}

func (c *ticketCache) removeLocked(tk *ticket) {
	c.order.Remove(tk.elem)
	if id := string(tk.sess.ID); c.bySession[id] == tk {
		delete(c.bySession, id)
	}
	if key := clientTicketKey(tk.addr); c.byPeer[key] == tk {
		delete(c.byPeer, key)
	}
}

// clientTicketKey is the key under which a pion client looks up its
// session with the server at addr (dtls.Conn.sessionKey: the remote
// address, "_", the server name, which we leave empty).
func clientTicketKey(addr netip.AddrPort) string {
	return net.UDPAddrFromAddrPort(addr).String() + "_"
}

// sessionTickets is the dtls.SessionStore of one handshake: it reads and
// writes the transport's tickets and tells the session whether pion
// resumed.
type sessionTickets struct{ s *session }

// Set keeps the session that a full handshake just made. The client
// keeps it only with the server's proven ID; the server learns the
// client's ID from its proof, after the handshake (clientID).
func (st sessionTickets) Set(_ []byte, sess dtls.Session) error {
	s := st.s
	switch {
	case !s.client:
		s.t.tickets.put(ticket{sess: sess, addr: s.addr})
	case s.certID != nil:
		s.t.tickets.put(ticket{sess: sess, addr: s.addr, peer: *s.certID, proven: true})
	}
	return nil
}

// Get finds a session to resume. The server resumes only a ticket whose
// client proved its ID. The client offers one only for the ID it
// expects, so a peer known under another ID gets a full handshake that
// shows its certificate.
func (st sessionTickets) Get(key []byte) (dtls.Session, error) {
	s := st.s
	var tk ticket
	var ok bool
	if s.client {
		tk, ok = s.t.tickets.forPeer(string(key))
		ok = ok && (s.expect == nil || tk.peer == *s.expect)
	} else {
		tk, ok = s.t.tickets.session(string(key))
		ok = ok && tk.proven
	}
	if !ok {
		return dtls.Session{}, nil
	}
	s.ticketUsed, s.ticketPeer = true, tk.peer
	return tk.sess, nil
}

// Del forgets a session pion found broken (a fatal alert on it), or one
// the server would not resume.
func (st sessionTickets) Del(key []byte) error {
	st.s.t.tickets.remove(string(key))
	return nil
}
