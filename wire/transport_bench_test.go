package wire

// Run on one core, five times, e.g.:
//
//	go test -run '^$' -bench 'Handshake|RoundTrip' -cpu 1 -count 5 ./wire
//	go test -run '^$' -bench IdleSession -benchtime 200x -cpu 1 -count 5 ./wire
//
// Each benchmark has a "mux" case (this transport) and a "pion" case (plain
// pion conns over a connected UDP socket pair, same configuration), so the
// ratio of the two is the demultiplexer's cost. Rates are given per second
// of wall time and per second of the process's CPU time; the second holds
// steady on a machine busy with other work.

import (
	"context"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/kad/kadtest"
	"github.com/pion/dtls/v2"
)

// benchNodes is how many contacts a find_node reply carries in the round
// trip benchmark: 6 IPv4 contacts make a reply of about 200 bytes.
const benchNodes = 6

// BenchmarkHandshake: "full" runs the whole exchange every time (the
// client forgets its tickets), "resumed" the abbreviated handshake with a
// peer met before (tickets.go); both include the identity proof, and each
// waits for the server to have established the session: in a resumed
// handshake the client finishes first.
func BenchmarkHandshake(b *testing.B) {
	for _, resume := range []bool{false, true} {
		b.Run(map[bool]string{false: "full", true: "resumed"}[resume], func(b *testing.B) {
			hub, c := newBenchNode(b), newBenchNode(b)
			handshake := func() {
				served := hub.stats.handshakes[hsOK].Load() + 1
				s, _, err := c.sessionFor(context.Background(), hub.LocalAddr(), nil)
				if err != nil {
					b.Fatal(err)
				}
				for hub.stats.handshakes[hsOK].Load() < served {
					// Parked, not spinning: with one P a spinning
					// goroutine keeps the netpoller from running.
					time.Sleep(10 * time.Microsecond)
				}
				s.close()
			}
			if resume {
				handshake() // the first, full handshake makes the ticket
			}
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				if !resume {
					c.tickets.clear()
				}
				handshake()
			}
			reportRate(b, cpu, "handshakes")
			if got := hub.Stats().Resumed; resume != (got > 0) {
				b.Fatalf("the server resumed %d of %d handshakes", got, b.N)
			}
		})
	}
	b.Run("pion", func(b *testing.B) {
		cfgC, cfgS := pionConfigs(b)
		b.ResetTimer()
		cpu := cpuTime()
		for range b.N {
			c, s := pionPair(b, cfgC, cfgS)
			c.Close()
			s.Close()
		}
		reportRate(b, cpu, "handshakes")
	})
}

// BenchmarkFirstCall is the latency of one ping to a peer: over a
// session that is up ("established"), after a resumed handshake with a
// peer met before ("resumed"), or after a full one with a stranger
// ("full"). Calls run one at a time, so ns/op is the caller's wait; the
// closing of the previous session at both ends is left out of the time.
// A cold lookup pays "full" or "resumed" for each node it queries.
func BenchmarkFirstCall(b *testing.B) {
	for _, mode := range []string{"full", "resumed", "established"} {
		b.Run(mode, func(b *testing.B) {
			hub, c := newBenchNode(b), newBenchNode(b)
			ctx := context.Background()
			q := kad.PingQuery(c.LocalID(), false)
			if _, _, err := c.Call(ctx, hub.LocalAddr(), nil, q); err != nil {
				b.Fatal(err) // the full handshake that makes the ticket
			}
			b.ResetTimer()
			for range b.N {
				if mode != "established" {
					b.StopTimer()
					c.closeSessions()
					if mode == "full" {
						c.tickets.clear()
					}
					for hub.Stats().LiveSessions > 0 || c.Stats().LiveSessions > 0 {
						time.Sleep(10 * time.Microsecond) // parked: see BenchmarkHandshake
					}
					b.StartTimer()
				}
				if _, _, err := c.Call(ctx, hub.LocalAddr(), nil, q); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if got := c.Stats().Resumed; (mode == "resumed") != (got >= uint64(b.N)) {
				b.Fatalf("%s: the caller resumed %d of %d sessions", mode, got, b.N)
			}
		})
	}
}

func BenchmarkRoundTrip(b *testing.B) {
	nodes := kadtest.Nodes(benchNodes, net.IPv4len)
	b.Run("mux", func(b *testing.B) {
		hub, c := newBenchNode(b), newBenchNode(b)
		hub.Serve(func(from kad.Peer, q *krpc.Msg) *krpc.Msg {
			return kad.FindNodeReply(hub.LocalID(), from.Addr, nodes)
		})
		ctx := context.Background()
		q := kad.FindNodeQuery(c.LocalID(), kadtest.ID(7), false)
		if _, _, err := c.Call(ctx, hub.LocalAddr(), nil, q); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		for range b.N {
			if _, _, err := c.Call(ctx, hub.LocalAddr(), nil, q); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, cpu, "roundtrips")
	})
	b.Run("pion", func(b *testing.B) {
		cfgC, cfgS := pionConfigs(b)
		c, s := pionPair(b, cfgC, cfgS)
		defer c.Close()
		serverID := kadtest.ID(2)
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, sessionReadBufferSize)
			for {
				n, err := s.Read(buf)
				if err != nil {
					return
				}
				q, err := kad.DecodeMsg(buf[:n])
				if err != nil {
					panic(err)
				}
				r := kad.FindNodeReply(serverID, netipAddrOf(c.LocalAddr()), nodes)
				r.T, r.Y = q.T, krpc.YResponse
				out, err := kad.EncodeMsg(r)
				if err != nil {
					panic(err)
				}
				if _, err := s.Write(out); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, sessionReadBufferSize)
		q := kad.FindNodeQuery(kadtest.ID(1), kadtest.ID(7), false)
		q.T = "\x00\x00\x00\x01"
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cpuTime()
		for range b.N {
			out, err := kad.EncodeMsg(q)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Write(out); err != nil {
				b.Fatal(err)
			}
			n, err := c.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := kad.DecodeMsg(buf[:n]); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b, cpu, "roundtrips")
		b.StopTimer()
		s.Close()
		<-done
	})
}

// BenchmarkIdleSession opens b.N sessions and reports what each idle one
// holds, averaged over both ends: heap, goroutine stacks and goroutines.
func BenchmarkIdleSession(b *testing.B) {
	b.Run("mux", func(b *testing.B) {
		hub := newBenchNode(b)
		clients := make([]*Transport, b.N)
		for i := range clients {
			clients[i] = newBenchNode(b)
		}
		before := measureIdle()
		for _, c := range clients {
			if _, _, err := c.Call(context.Background(), hub.LocalAddr(), nil, kad.PingQuery(c.LocalID(), false)); err != nil {
				b.Fatal(err)
			}
		}
		measureIdle().report(b, before, 2*b.N)
	})
	b.Run("pion", func(b *testing.B) {
		cfgC, cfgS := pionConfigs(b)
		pairs := make([][2]net.Conn, b.N)
		for i := range pairs {
			pairs[i][0], pairs[i][1] = udpPair(b)
		}
		before := measureIdle()
		conns := make([]*dtls.Conn, 0, 2*b.N)
		for _, p := range pairs {
			c, s := pionHandshake(b, p[0], p[1], cfgC, cfgS)
			conns = append(conns, c, s)
		}
		measureIdle().report(b, before, 2*b.N)
		for _, c := range conns {
			c.Close()
		}
	})
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRate reports b.N operations per second of wall time and per second
// of CPU time used since cpuStart.
func reportRate(b *testing.B, cpuStart time.Duration, what string) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), what+"/s")
	if used := cpuTime() - cpuStart; used > 0 {
		b.ReportMetric(float64(b.N)/used.Seconds(), what+"/cpu-s")
	}
}

type idleFigures struct {
	heap, stack uint64
	goroutines  int
}

func measureIdle() idleFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return idleFigures{heap: ms.HeapAlloc, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
}

func (f idleFigures) report(b *testing.B, before idleFigures, sessions int) {
	n := float64(sessions)
	b.ReportMetric((float64(f.heap)-float64(before.heap))/n, "heapB/session")
	b.ReportMetric((float64(f.stack)-float64(before.stack))/n, "stackB/session")
	b.ReportMetric(float64(f.goroutines-before.goroutines)/n, "goroutines/session")
}
