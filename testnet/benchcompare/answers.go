package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"github.com/kadnode/kadnode/wire"
)

// loadResult is one run of find_node load against one node.
type loadResult struct {
	answers, lost int
	lostBy        map[string]int // lost queries by kind of error
	cost          cost
}

func (r loadResult) perSecond() float64 {
	if r.cost.wall <= 0 {
		return 0
	}
	return float64(r.answers) / r.cost.wall.Seconds()
}

// loadClient sends one find_node at a time and waits for its answer.
type loadClient interface {
	findNode(ctx context.Context, target krpc.ID) error
	close()
}

// runLoad keeps one query in flight per client for dur (or until
// answerMaxPerRun queries), and counts answers and losses.
func runLoad(ctx context.Context, clients []loadClient, dur time.Duration, seed uint64) loadResult {
	// The end is read from the clock, not from ctx.Err(): the context's
	// timer can fire later than a socket deadline set from it, and a query
	// failed in between must not count as lost.
	end := time.Now().Add(dur)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	running := func() bool { return ctx.Err() == nil && time.Now().Before(end) }
	var answers, lost, sent atomic.Int64
	var mu sync.Mutex
	lostBy := map[string]int{}
	c := measure("", "", func() {
		var wg sync.WaitGroup
		for ci, cl := range clients {
			wg.Go(func() {
				target := krpc.ID{19: 1} // never all zero: KRPC cannot carry that ID
				for n := uint64(0); running() && sent.Add(1) <= answerMaxPerRun; n++ {
					binary.BigEndian.PutUint64(target[:], seed^uint64(ci)<<32^n)
					qctx, qcancel := context.WithTimeout(ctx, answerCallTimeout)
					err := cl.findNode(qctx, target)
					qcancel()
					switch {
					case err == nil:
						answers.Add(1)
					case running():
						lost.Add(1)
						mu.Lock()
						lostBy[errorKind(err)]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
	})
	return loadResult{answers: int(answers.Load()), lost: int(lost.Load()), lostBy: lostBy, cost: c}
}

// errorKind names an error for counting: "timeout", or its text.
func errorKind(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	return msg[:min(len(msg), 80)]
}

func closeClients(cs []loadClient) {
	for _, c := range cs {
		c.close()
	}
}

// kadnodeClient queries over an established DTLS session of its own transport.
type kadnodeClient struct {
	tr     *wire.Transport
	id     krpc.ID
	to     netip.AddrPort
	expect krpc.ID
}

// newKadnodeClients opens n read-only clients and completes their
// handshakes with the target before any load is timed.
func newKadnodeClients(ctx context.Context, n int, to netip.AddrPort, expect krpc.ID) ([]loadClient, error) {
	var out []loadClient
	for j := range n {
		ident, err := wire.NewIdentity()
		if err != nil {
			closeClients(out)
			return nil, err
		}
		tr, err := wire.Listen(wire.Config{Identity: ident, Network: benchNetwork, Listen: clientAddr(j).String(), Logger: quietLogger})
		if err != nil {
			closeClients(out)
			return nil, err
		}
		c := &kadnodeClient{tr: tr, id: ident.ID, to: to, expect: expect}
		out = append(out, c)
		hctx, cancel := context.WithTimeout(ctx, joinTimeout)
		_, _, err = tr.Call(hctx, to, &expect, &krpc.Msg{Y: krpc.YQuery, Q: "ping", A: &krpc.MsgArgs{ID: ident.ID}, ReadOnly: true})
		cancel()
		if err != nil {
			closeClients(out)
			return nil, fmt.Errorf("kadnode load client handshake: %w", err)
		}
	}
	return out, nil
}

func (c *kadnodeClient) findNode(ctx context.Context, target krpc.ID) error {
	q := &krpc.Msg{Y: krpc.YQuery, Q: "find_node", A: &krpc.MsgArgs{ID: c.id, Target: target}, ReadOnly: true}
	_, r, err := c.tr.Call(ctx, c.to, &c.expect, q)
	if err == nil && (r == nil || r.R == nil) {
		err = errors.New("answer without a return")
	}
	return err
}

func (c *kadnodeClient) close() { c.tr.Close() }

// udpClient sends plain KRPC over its own UDP socket, as any Mainline DHT
// node would to an anacrolix server.
type udpClient struct {
	conn *net.UDPConn
	id   krpc.ID
	to   *net.UDPAddr
	next uint32
	buf  []byte
}

func newUDPClients(n int, to *net.UDPAddr) ([]loadClient, error) {
	var out []loadClient
	for j := range n {
		conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(clientAddr(j)))
		if err != nil {
			closeClients(out)
			return nil, err
		}
		out = append(out, &udpClient{conn: conn, id: krpc.RandomNodeID(), to: to, buf: make([]byte, udpReadBuffer)})
	}
	return out, nil
}

func (c *udpClient) findNode(ctx context.Context, target krpc.ID) error {
	c.next++
	t := strconv.FormatUint(uint64(c.next), 36)
	b, err := bencode.Marshal(krpc.Msg{T: t, Y: krpc.YQuery, Q: "find_node", A: &krpc.MsgArgs{ID: c.id, Target: target}, ReadOnly: true})
	if err != nil {
		return err
	}
	if _, err := c.conn.WriteToUDP(b, c.to); err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	if err := c.conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	for {
		n, err := c.conn.Read(c.buf)
		if err != nil {
			return err
		}
		var m krpc.Msg
		// A late answer to an earlier, timed-out query has another t: skip it.
		if bencode.Unmarshal(c.buf[:n], &m) == nil && m.T == t {
			if m.Y != krpc.YResponse {
				return fmt.Errorf("answer of type %q", m.Y)
			}
			return nil
		}
	}
}

func (c *udpClient) close() { c.conn.Close() }
