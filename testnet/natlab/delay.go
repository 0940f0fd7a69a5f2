package natlab

import (
	"container/heap"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/kadnode/kadnode/testnet/netns"
	"golang.org/x/sys/unix"
)

// DelayRouter is a router namespace that every datagram between its hosts
// crosses once, through a TUN device and a delay line in the test
// process: the path latency a lab needs where the kernel has no netem.
// Each pair of hosts gets a one-way delay drawn once in [min, max), the
// same both ways, so a round trip takes twice that. With no jitter a
// pair's datagrams keep their order; jitter adds a random [0, jitter) to
// each datagram, so datagrams sent closer together than that may swap,
// as on paths that reorder. Hosts are public (100.2.N.10, each in a /24
// of its own), with no NAT.
type DelayRouter struct {
	Host
	lo, hi time.Duration
	jitter time.Duration
	tun    *os.File
	hosts  int
	wg     sync.WaitGroup
}

// Delay-router addresses: the router at 100.2.0.1 on its loopback, host N
// at 100.2.N.10/32, reached through a veth of its own.
const (
	delayRouterIP  = "100.2.0.1"
	delayHostFmt   = "100.2.%d.10"
	delayTable     = "100"
	delayTUN       = "tun0"
	delayQueueSize = 4096 // datagrams in the delay line at most
)

// DelayRouter adds a router whose hosts reach each other only through
// the delay line; it stops with the lab.
func (l *Lab) DelayRouter(name string, min, max, jitter time.Duration) *DelayRouter {
	l.t.Helper()
	if min < 0 || max < min || jitter < 0 {
		l.t.Fatalf("delay router: need 0 <= min <= max and jitter >= 0, got %v, %v, %v", min, max, jitter)
	}
	r := &DelayRouter{Host: Host{Lab: l, Name: name}, lo: min, hi: max, jitter: jitter}
	r.NS = l.addNS(name)
	r.IP = netip.MustParseAddr(delayRouterIP)
	for _, kv := range []string{"net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
		"net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"} {
		l.run("ip", "netns", "exec", r.NS, "sysctl", "-qw", kv)
	}
	l.ip(r.NS, "addr", "add", delayRouterIP+"/32", "dev", "lo")
	err := netns.Do(netns.Path(r.NS), func() error {
		var err error
		r.tun, err = openTUN(delayTUN)
		return err
	})
	if err != nil {
		l.t.Fatalf("delay router %s: %v", name, err)
	}
	l.ip(r.NS, "link", "set", delayTUN, "up")
	// Datagrams the hosts send go to the TUN device (table 100); what the
	// delay line writes back comes in on it and takes the main table to
	// its host.
	l.ip(r.NS, "route", "add", "default", "dev", delayTUN, "table", delayTable)
	line := newDelayLine()
	r.wg.Add(2)
	go r.read(line)
	go r.write(line)
	l.t.Cleanup(r.stop)
	return r
}

// AddHost adds a host behind the delay line.
func (r *DelayRouter) AddHost(name string) *Host {
	l := r.Lab
	h, i := l.addHost(name, &r.hosts)
	h.IP = netip.MustParseAddr(fmt.Sprintf(delayHostFmt, i))
	dev := fmt.Sprintf("h%d", i)
	l.run("ip", "link", "add", "eth0", "netns", h.NS, "type", "veth", "peer", "name", dev, "netns", r.NS)
	l.ip(h.NS, "addr", "add", h.IP.String()+"/32", "dev", "eth0")
	l.ip(h.NS, "link", "set", "eth0", "up")
	l.ip(h.NS, "route", "add", delayRouterIP, "dev", "eth0")
	l.ip(h.NS, "route", "add", "default", "via", delayRouterIP, "dev", "eth0")
	l.ip(r.NS, "link", "set", dev, "up")
	l.ip(r.NS, "route", "add", h.IP.String(), "dev", dev)
	l.ip(r.NS, "rule", "add", "iif", dev, "lookup", delayTable)
	return h
}

// read takes datagrams off the TUN device into the line, each with the
// time it is due; it ends when the device closes, and closes the line.
func (r *DelayRouter) read(line *delayLine) {
	defer r.wg.Done()
	defer line.close()
	for seq := uint64(0); ; seq++ {
		buf := make([]byte, 2048)
		n, err := r.tun.Read(buf)
		if err != nil {
			return
		}
		pkt := buf[:n]
		d := r.delay(pkt)
		if r.jitter > 0 {
			d += rand.N(r.jitter)
		}
		line.push(delayed{pkt: pkt, due: time.Now().Add(d), seq: seq})
	}
}

// write hands each datagram back to the router when it is due, earliest
// first and, among equal times, in arrival order: one goroutine writes,
// so without jitter a pair's datagrams, which all take the same delay,
// keep their order.
func (r *DelayRouter) write(line *delayLine) {
	defer r.wg.Done()
	for {
		d, ok := line.next()
		if !ok {
			return
		}
		r.tun.Write(d.pkt) // fails only once the lab is closing
	}
}

// delay is the one-way delay of the pair of hosts an IPv4 datagram is
// between (min for anything else).
func (r *DelayRouter) delay(pkt []byte) time.Duration {
	if r.hi == r.lo || len(pkt) < 20 || pkt[0]>>4 != 4 {
		return r.lo
	}
	a, b := binary.BigEndian.Uint32(pkt[12:16]), binary.BigEndian.Uint32(pkt[16:20])
	if a > b {
		a, b = b, a
	}
	h := fnv.New64a()
	var k [8]byte
	binary.BigEndian.PutUint32(k[:4], a)
	binary.BigEndian.PutUint32(k[4:], b)
	h.Write(k[:])
	return r.lo + time.Duration(h.Sum64()%uint64(r.hi-r.lo))
}

func (r *DelayRouter) stop() {
	r.tun.Close()
	r.wg.Wait()
}

// openTUN opens a TUN device named name (IFF_NO_PI: bare IP packets) in
// the calling thread's namespace, non-blocking so that Close ends a Read.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("making TUN device %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// delayed is a datagram in the line.
type delayed struct {
	pkt []byte
	due time.Time
	seq uint64 // arrival order, for equal due times
}

// dueOrder is a min-heap (container/heap) of datagrams by due time, then
// arrival.
type dueOrder []delayed

func (h dueOrder) Len() int      { return len(h) }
func (h dueOrder) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h dueOrder) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h *dueOrder) Push(x any) { *h = append(*h, x.(delayed)) }
func (h *dueOrder) Pop() any {
	old := *h
	d := old[len(old)-1]
	*h = old[:len(old)-1]
	return d
}

// delayLine holds datagrams until they are due, at most delayQueueSize of
// them (more are lost, as on a congested link).
type delayLine struct {
	mu     sync.Mutex
	queue  dueOrder
	closed bool
	wake   chan struct{} // a push may have made an earlier datagram due
}

func newDelayLine() *delayLine { return &delayLine{wake: make(chan struct{}, 1)} }

func (l *delayLine) push(d delayed) {
	l.mu.Lock()
	if len(l.queue) < delayQueueSize {
		heap.Push(&l.queue, d)
	}
	l.mu.Unlock()
	l.signal()
}

func (l *delayLine) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
}

func (l *delayLine) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// next waits until the earliest datagram is due and takes it; false once
// the line is closed.
func (l *delayLine) next() (delayed, bool) {
	for {
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			return delayed{}, false
		}
		wait := time.Hour
		if len(l.queue) > 0 {
			if wait = time.Until(l.queue[0].due); wait <= 0 {
				d := heap.Pop(&l.queue).(delayed)
				l.mu.Unlock()
				return d, true
			}
		}
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-l.wake:
			t.Stop()
		}
	}
}
