package main

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kadnode/kadnode/wire"
)

// delayLine holds every datagram a node of either network sends for one
// fixed delay before it leaves, so that both systems run on a path with
// latency instead of loopback's microseconds: there, a first contact
// costs its round trips more than its CPU. One delay for all keeps each
// pair's datagrams in order, since the queue is then in due order too.
// Its goroutine stops on close; datagrams still queued are dropped.
type delayLine struct {
	delay time.Duration

	mu     sync.Mutex
	queue  []delayedDatagram // due order; queue[head:] are waiting
	head   int
	closed bool

	wake    chan struct{} // a datagram came to an empty queue
	done    chan struct{}
	wg      sync.WaitGroup
	dropped atomic.Uint64 // the queue was full
}

// delayedDatagram is one datagram on the line.
type delayedDatagram struct {
	due  time.Time
	conn *net.UDPConn
	to   netip.AddrPort
	b    []byte
}

// newDelayLine starts a line with one-way delay d; nil for d ≤ 0, which
// every method takes as no delay.
func newDelayLine(d time.Duration) *delayLine {
	if d <= 0 {
		return nil
	}
	l := &delayLine{delay: d, wake: make(chan struct{}, 1), done: make(chan struct{})}
	l.wg.Add(1)
	go l.run()
	return l
}

// send queues a copy of b for conn to send to to once the delay is over.
func (l *delayLine) send(conn *net.UDPConn, b []byte, to netip.AddrPort) {
	d := delayedDatagram{due: time.Now().Add(l.delay), conn: conn, to: to, b: append([]byte(nil), b...)}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || len(l.queue)-l.head >= delayLineMaxQueued {
		l.dropped.Add(1)
		return
	}
	if l.head > len(l.queue)/2 && l.head > 1024 { // reclaim the sent part
		l.queue = append(l.queue[:0], l.queue[l.head:]...)
		l.head = 0
	}
	l.queue = append(l.queue, d)
	if len(l.queue)-l.head == 1 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// run sends each datagram when it is due.
func (l *delayLine) run() {
	defer l.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []delayedDatagram
	for {
		now := time.Now()
		l.mu.Lock()
		due = due[:0]
		for l.head < len(l.queue) && !l.queue[l.head].due.After(now) {
			due = append(due, l.queue[l.head])
			l.queue[l.head] = delayedDatagram{}
			l.head++
		}
		wait := time.Duration(-1) // nothing queued
		if l.head < len(l.queue) {
			wait = l.queue[l.head].due.Sub(now)
		}
		l.mu.Unlock()
		for _, d := range due {
			d.conn.WriteToUDPAddrPort(d.b, d.to) //nolint:errcheck // lost like any datagram
		}
		if wait < 0 {
			select {
			case <-l.wake:
			case <-l.done:
				return
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-l.done:
			return
		}
	}
}

// close stops the line and drops what it still holds.
func (l *delayLine) close() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.closed = true
	l.queue, l.head = nil, 0
	l.mu.Unlock()
	close(l.done)
	l.wg.Wait()
}

// lineConn is a node's socket as the line hands it out: a kadnode
// transport's wire.Socket, and an anacrolix server's net.PacketConn.
type lineConn interface {
	wire.Socket
	net.PacketConn
}

// wrap makes c send through the line; with no line it is c itself.
func (l *delayLine) wrap(c *net.UDPConn) lineConn {
	if l == nil {
		return c
	}
	return delayedSocket{UDPConn: c, line: l}
}

// delayedSocket is a UDP socket whose sends go through a delay line; it
// reads as the socket does.
type delayedSocket struct {
	*net.UDPConn
	line *delayLine
}

func (s delayedSocket) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	s.line.send(s.UDPConn, b, to)
	return len(b), nil
}

func (s delayedSocket) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return s.UDPConn.WriteTo(b, addr)
	}
	s.line.send(s.UDPConn, b, ua.AddrPort())
	return len(b), nil
}
