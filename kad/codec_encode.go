package kad

import (
	"encoding/binary"
	"net"
	"strconv"

	"github.com/anacrolix/dht/v2/krpc"
)

// appendMsg appends the bencoding of m, which must satisfy plainMsg, to b.
// It writes the same bytes as anacrolix's encoder (the tests compare them
// on every message kind and the fuzz target on every accepted input), but
// without reflection: anacrolix needs about 30 µs and 270 allocations for
// a find_node reply, which would cost a large share of a round trip.
//
// Keys are written in sorted order, and a field is omitted exactly when
// anacrolix's omitempty would omit it.
func appendMsg(b []byte, m *krpc.Msg) []byte {
	b = append(b, 'd')
	if a := m.A; a != nil {
		b = appendString(b, "a")
		b = append(b, 'd')
		b = appendString(b, "id")
		b = appendString(b, a.ID[:])
		if !a.Target.IsZero() {
			b = appendString(b, "target")
			b = appendString(b, a.Target[:])
		}
		if a.Want != nil {
			b = appendString(b, "want")
			b = append(b, 'l')
			for _, w := range a.Want {
				b = appendString(b, string(w))
			}
			b = append(b, 'e')
		}
		b = append(b, 'e')
	}
	if e := m.E; e != nil {
		b = appendString(b, "e")
		b = append(b, 'l', 'i')
		b = strconv.AppendInt(b, int64(e.Code), 10)
		b = append(b, 'e')
		b = appendString(b, e.Msg)
		b = append(b, 'e')
	}
	if m.IP.IP != nil || m.IP.Port != 0 {
		b = appendString(b, "ip")
		b = strconv.AppendInt(b, int64(len(m.IP.IP)+2), 10)
		b = append(b, ':')
		b = append(b, m.IP.IP...)
		b = binary.BigEndian.AppendUint16(b, uint16(m.IP.Port))
	}
	if m.Q != "" {
		b = appendString(b, "q")
		b = appendString(b, m.Q)
	}
	if r := m.R; r != nil {
		b = appendString(b, "r")
		b = append(b, 'd')
		b = appendString(b, "id")
		b = appendString(b, r.ID[:])
		if r.Nodes != nil {
			b = appendString(b, "nodes")
			b = appendNodes(b, r.Nodes, compactIPv4NodeLen)
		}
		if r.Nodes6 != nil {
			b = appendString(b, "nodes6")
			b = appendNodes(b, r.Nodes6, compactIPv6NodeLen)
		}
		b = append(b, 'e')
	}
	if m.ReadOnly {
		b = appendString(b, "ro")
		b = append(b, "i1e"...)
	}
	b = appendString(b, "t")
	b = appendString(b, m.T)
	if m.ClientId != "" {
		b = appendString(b, "v")
		b = appendString(b, m.ClientId)
	}
	b = appendString(b, "y")
	b = appendString(b, m.Y)
	return append(b, 'e')
}

// plainMsgSizeHint is an upper bound of appendMsg's output for usual
// messages, so that it allocates once.
func plainMsgSizeHint(m *krpc.Msg) int {
	n := 128 + len(m.Q) + len(m.T) + len(m.ClientId)
	if m.A != nil {
		n += 64 + 8*len(m.A.Want)
	}
	if m.R != nil {
		n += 64 + compactIPv4NodeLen*len(m.R.Nodes) + compactIPv6NodeLen*len(m.R.Nodes6)
	}
	if m.E != nil {
		n += 32 + len(m.E.Msg)
	}
	return n
}

// appendString appends s as a bencode string (keys and values alike).
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// appendNodes appends compact node infos (BEP 5 / BEP 32) as one string;
// checkAddrs has made sure each address has the entry's size.
func appendNodes(b []byte, nodes []krpc.NodeInfo, elemLen int) []byte {
	b = strconv.AppendInt(b, int64(len(nodes)*elemLen), 10)
	b = append(b, ':')
	for _, n := range nodes {
		ip := n.Addr.IP
		if elemLen == compactIPv4NodeLen {
			ip = ip.To4()
		}
		b = append(b, n.ID[:]...)
		b = append(b, ip...)
		b = binary.BigEndian.AppendUint16(b, uint16(n.Addr.Port))
	}
	return b
}

// plainMsg reports whether m uses only the fields appendMsg writes, which
// are the fields DecodeMsg reads. Messages with other fields (BEP 33, 44,
// 51 and the like) go through anacrolix's encoder.
func plainMsg(m *krpc.Msg) bool {
	if a := m.A; a != nil {
		if !a.InfoHash.IsZero() || a.Token != "" || a.Port != nil || a.ImpliedPort ||
			a.NoSeed != 0 || a.Scrape != 0 || a.V != nil || a.Seq != nil || a.Cas != 0 ||
			a.K != [32]byte{} || a.Salt != nil || a.Sig != [64]byte{} {
			return false
		}
	}
	if r := m.R; r != nil {
		if r.Token != nil || r.Values != nil || r.BFsd != nil || r.BFpe != nil ||
			r.Bep51Return != (krpc.Bep51Return{}) || r.Bep44Return.V != nil ||
			r.Bep44Return.K != [32]byte{} || r.Bep44Return.Sig != [64]byte{} || r.Bep44Return.Seq != nil {
			return false
		}
	}
	return true
}

// checkAddrs returns what makes an address field of m unencodable, or "".
// anacrolix's encoder panics on a compact entry of the wrong size and
// silently truncates ports, so both encoders are guarded here.
func checkAddrs(m *krpc.Msg) string {
	if m.IP.IP != nil || m.IP.Port != 0 {
		if n := len(m.IP.IP); n != net.IPv4len && n != net.IPv6len {
			return "\"ip\" address has " + nBytes(n) + ", want 4 or 16"
		}
		if !validPort(m.IP.Port) {
			return "\"ip\" port " + strconv.Itoa(m.IP.Port) + " is outside 0-65535"
		}
	}
	if m.R == nil {
		return ""
	}
	for _, n := range m.R.Nodes {
		if n.Addr.IP.To4() == nil {
			return "\"nodes\" holds " + n.Addr.IP.String() + ", which is not an IPv4 address"
		}
		if !validPort(n.Addr.Port) {
			return "\"nodes\" holds port " + strconv.Itoa(n.Addr.Port) + ", outside 0-65535"
		}
	}
	for _, n := range m.R.Nodes6 {
		if len(n.Addr.IP) != net.IPv6len {
			return "\"nodes6\" holds " + n.Addr.IP.String() + ", which is not a 16-byte IPv6 address"
		}
		if !validPort(n.Addr.Port) {
			return "\"nodes6\" holds port " + strconv.Itoa(n.Addr.Port) + ", outside 0-65535"
		}
	}
	return ""
}

func validPort(p int) bool { return p >= 0 && p <= 0xffff }
