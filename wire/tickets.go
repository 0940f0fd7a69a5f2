package wire

import (
	"bytes"
	"container/list"
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
// ways: by session ID, as a pion server looks it up, and by the other
// end's address, which is what a pion client's key names (one socket
// serves both directions, so the address a client called from is the one
// to call back). A server's ticket joins the second index only once the
// client's proof has checked; it resumes only such tickets.

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
	bySession map[string]*ticket         // by session ID (pion's server key)
	byPeer    map[netip.AddrPort]*ticket // proven ones, by the other end's address
	order     list.List                  // oldest first
}

func newTicketCache(now func() time.Time) *ticketCache {
	return &ticketCache{now: now, bySession: make(map[string]*ticket), byPeer: make(map[netip.AddrPort]*ticket)}
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
	if old := c.byPeer[p.addr]; old != nil && old != p {
		c.removeLocked(old)
	}
	c.byPeer[p.addr] = p
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
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unexpiredLocked(c.bySession[sessionID])
}

// forPeer finds the unexpired proven ticket for the node at addr (client
// side).
func (c *ticketCache) forPeer(addr netip.AddrPort) (ticket, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unexpiredLocked(c.byPeer[addr])
}

// unexpiredLocked returns a copy of tk unless it is nil or expired; an
// expired one is forgotten.
func (c *ticketCache) unexpiredLocked(tk *ticket) (ticket, bool) {
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

// remove forgets the ticket with sessionID, reporting whether there was
// one.
func (c *ticketCache) remove(sessionID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	tk := c.bySession[sessionID]
	if tk != nil {
		c.removeLocked(tk)
	}
	return tk != nil
}

// removePeer forgets the ticket for the node at addr.
func (c *ticketCache) removePeer(addr netip.AddrPort) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tk := c.byPeer[addr]; tk != nil {
		c.removeLocked(tk)
	}
}

func (c *ticketCache) removeLocked(tk *ticket) {
	c.order.Remove(tk.elem)
	if id := string(tk.sess.ID); c.bySession[id] == tk {
		delete(c.bySession, id)
	}
	if c.byPeer[tk.addr] == tk {
		delete(c.byPeer, tk.addr)
	}
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

// Get finds a session to resume. A server's key is the offered session
// ID; a client's names the server's address, which the session knows. The
// server resumes only a ticket whose client proved its ID. The client
// offers one only for the ID it expects, so a peer known under another ID
// gets a full handshake that shows its certificate.
func (st sessionTickets) Get(key []byte) (dtls.Session, error) {
	s := st.s
	var tk ticket
	var ok bool
	if s.client {
		tk, ok = s.t.tickets.forPeer(s.addr)
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
// the server would not resume. pion's client passes its key for the
// server's address after an alert, and the offered session ID after a
// refusal.
func (st sessionTickets) Del(key []byte) error {
	s := st.s
	if !s.t.tickets.remove(string(key)) && s.client {
		s.t.tickets.removePeer(s.addr)
	}
	return nil
}
