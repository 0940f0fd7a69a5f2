package kad

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
	"github.com/kadnode/kadnode/kad/kadtest"
)

var (
	caller4 = netip.MustParseAddrPort("192.0.2.7:4114")
	caller6 = netip.MustParseAddrPort("[2001:db8::7]:4114")
)

// validMessages are messages kadnode sends, and a few it must accept.
func validMessages() map[string]*krpc.Msg {
	self, target := kadtest.ID(0x11), kadtest.ID(0x22)
	unknown := PingQuery(self, false)
	unknown.Q = "get_peers"
	withClient := PingQuery(self, false)
	withClient.ClientId = "KN01"
	withWant := FindNodeQuery(self, target, false)
	withWant.A.Want = []krpc.Want{krpc.WantNodes, krpc.WantNodes6}
	return map[string]*krpc.Msg{
		"ping":               PingQuery(self, false),
		"ping read-only":     PingQuery(self, true),
		"find_node":          FindNodeQuery(self, target, false),
		"find_node want":     withWant,
		"unknown method":     unknown,
		"client version":     withClient,
		"ping reply v4":      PingReply(self, caller4),
		"ping reply v6":      PingReply(self, caller6),
		"ping reply no ip":   PingReply(self, netip.AddrPort{}),
		"find_node reply v4": FindNodeReply(self, caller4, kadtest.Nodes(20, net.IPv4len)),
		"find_node reply v6": FindNodeReply(self, caller6, kadtest.Nodes(20, net.IPv6len)),
		"find_node reply mix": FindNodeReply(self, caller4,
			append(kadtest.Nodes(3, net.IPv4len), kadtest.Nodes(3, net.IPv6len)...)),
		"find_node reply none": FindNodeReply(self, caller4, nil),
		"error":                ErrorReply(krpc.ErrorCodeMethodUnknown, "method unknown"),
		"error empty text":     ErrorReply(krpc.ErrorCodeGenericError, ""),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for name, m := range validMessages() {
		t.Run(name, func(t *testing.T) {
			b, got := encodeDecode(t, m)
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("round trip changed the message:\n got %+v\nwant %+v\nbytes %q", got, m, b)
			}
			// anacrolix's decoder is the reference for valid input: both
			// must read the same message.
			var ref krpc.Msg
			if err := bencode.Unmarshal(b, &ref); err != nil {
				t.Fatalf("anacrolix decoder refuses %q: %v", b, err)
			}
			if !reflect.DeepEqual(got, &ref) {
				t.Fatalf("decoders disagree on %q:\nours %+v\nref  %+v", b, got, &ref)
			}
		})
	}
}

func TestEncodeOtherFields(t *testing.T) {
	// A field appendMsg does not write sends the message through anacrolix's
	// encoder; the receiver skips the field.
	m := PingQuery(kadtest.ID(1), false)
	m.T = "aa"
	m.A.InfoHash = kadtest.ID(7)
	if plainMsg(m) {
		t.Fatal("plainMsg accepts a message with an info_hash")
	}
	b := mustEncode(t, m)
	if !bytes.Contains(b, []byte("9:info_hash20:")) {
		t.Fatalf("encoded %q lacks the info_hash", b)
	}
	got, err := DecodeMsg(b)
	if err != nil || got.A.ID != m.A.ID || !got.A.InfoHash.IsZero() {
		t.Fatalf("DecodeMsg(%q) = %+v, %v", b, got, err)
	}
}

// TestPlainMsgKnowsAllFields fails when a new version of krpc adds message
// fields, which plainMsg must then send to anacrolix's encoder.
func TestPlainMsgKnowsAllFields(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[krpc.Msg]():         "Q A T Y R E IP ReadOnly ClientId",
		reflect.TypeFor[krpc.MsgArgs]():     "ID InfoHash Target Token Port ImpliedPort Want NoSeed Scrape V Seq Cas K Salt Sig",
		reflect.TypeFor[krpc.Return]():      "ID Nodes Nodes6 Token Values BFsd BFpe Bep51Return Bep44Return",
		reflect.TypeFor[krpc.Bep51Return](): "Interval Num Samples",
		reflect.TypeFor[krpc.Bep44Return](): "V K Sig Seq",
	}
	for typ, fields := range want {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name)
		}
		if strings.Join(got, " ") != fields {
			t.Errorf("%v has fields %v, plainMsg knows %s", typ, got, fields)
		}
	}
}

func TestDecodeAcceptsExtensions(t *testing.T) {
	cases := map[string]string{
		// Keys kadnode does not use are checked and skipped, including
		// values that make anacrolix's decoder panic ("values" entry of 1 byte).
		"unknown keys": "d1:ad2:id20:" + kadtest.RawID + "9:info_hash20:" + kadtest.RawID + "e1:q9:get_peers1:t2:aa1:y1:qe",
		"short values": "d1:rd2:id20:" + kadtest.RawID + "6:valuesl1:xee1:t2:aa1:y1:re",
		"nested extra": "d1:ad2:id20:" + kadtest.RawID + "e1:q4:ping1:t2:aa1:xld1:ai1eee1:y1:qe",
		"ro zero":      "d1:ad2:id20:" + kadtest.RawID + "e1:q4:ping2:roi0e1:t2:aa1:y1:qe",
		"empty nodes":  "d1:rd2:id20:" + kadtest.RawID + "5:nodes0:e1:t2:aa1:y1:re",
		"longest t":    "d1:ad2:id20:" + kadtest.RawID + "e1:q4:ping1:t8:12345678" + "1:y1:qe",
		"long method":  "d1:ad2:id20:" + kadtest.RawID + "e1:q40:" + strings.Repeat("m", 40) + "1:t2:aa1:y1:qe",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := DecodeMsg([]byte(in))
			if err != nil {
				t.Fatalf("DecodeMsg(%q): %v", in, err)
			}
			if id := m.SenderID(); id == nil || *id != krpc.IdFromString(kadtest.RawID) {
				t.Fatalf("sender ID %v, want %x", id, kadtest.RawID)
			}
		})
	}
}

func TestKnownMethod(t *testing.T) {
	for q, want := range map[string]bool{"ping": true, "find_node": true, "get_peers": false, "": false, "PING": false} {
		if got := KnownMethod(q); got != want {
			t.Errorf("KnownMethod(%q) = %v, want %v", q, got, want)
		}
	}
}

// malformedCase is an input DecodeMsg must refuse, the reason it must
// give, and what the error must carry for a reply.
type malformedCase struct {
	name, in, reason string
	t                string // transaction ID the error must carry
	query            bool
}

func malformedCases() []malformedCase {
	ping := func(a string) string { return "d1:a" + a + "1:q4:ping1:t2:aa1:y1:qe" }
	pingArgs := "d2:id20:" + kadtest.RawID + "e"
	valid := ping(pingArgs)
	reply := func(r string) string { return "d1:r" + r + "1:t2:aa1:y1:re" }
	errMsg := func(e string) string { return "d1:e" + e + "1:t2:aa1:y1:ee" }
	deep := strings.Repeat("l", 20) + strings.Repeat("e", 20)
	return []malformedCase{
		{"empty", "", "empty message", "", false},
		{"not a dict", "li1ee", "not a bencoded dict: it starts with 'l'", "", false},
		{"plaintext", "hello", "not a bencoded dict: it starts with 'h'", "", false},
		{"truncated", valid[:len(valid)-1], "message ends inside a dict or list", "aa", true},
		{"trailing bytes", valid + "x", "1 byte after the message", "aa", true},
		{"unsorted keys", "d1:y1:q1:t2:aae", `"t" is not after "y"`, "", true},
		{"duplicate key", "d1:t2:aa1:t2:bb1:y1:qe", `"t" is not after "t"`, "aa", false},
		{"int leading zero", "d1:t2:aa1:xi01e1:y1:qe", `integer "01" is not canonical`, "aa", false},
		{"int minus zero", "d1:t2:aa1:xi-0e1:y1:qe", `integer "-0" is not canonical`, "aa", false},
		{"int empty", "d1:t2:aa1:xie1:y1:qe", `integer "" has no digits`, "aa", false},
		{"int overflow", "d1:t2:aa1:xi99999999999999999999e1:y1:qe", "does not fit in 64 bits", "aa", false},
		{"length leading zero", "d1:t02:aa1:y1:qe", "leading zero", "", false},
		{"string past end", "d1:t99:aae", "runs past the end", "", false},
		{"huge string length", "d1:t999999999999999999999:", "runs past the end", "", false},
		{"not bencode", "d1:t2:aa1:xz1:y1:qe", `byte 'z' does not start a bencode value`, "aa", false},
		{"missing value", "d1:te", `byte 'e' does not start`, "", false},
		{"too deep", "d1:t2:aa1:x" + deep + "1:y1:qe", "nested deeper than", "aa", false},
		{"no t", "d1:a" + pingArgs + "1:q4:ping1:y1:qe", `no transaction ID "t"`, "", true},
		{"empty t", "d1:a" + pingArgs + "1:q4:ping1:t0:1:y1:qe", `no transaction ID "t"`, "", true},
		{"long t", "d1:a" + pingArgs + "1:q4:ping1:t9:1234567891:y1:qe", `"t" is 9 bytes, want at most 8`, "", true},
		{"t integer", "d1:a" + pingArgs + "1:q4:ping1:ti1e1:y1:qe", `"t": got an integer, want a string`, "", true},
		{"t list", "d1:a" + pingArgs + "1:q4:ping1:tl2:aae1:y1:qe", `"t": got a list, want a string`, "", true},
		{"no y", "d1:a" + pingArgs + "1:q4:ping1:t2:aae", `no message type "y"`, "aa", false},
		{"bad y", "d1:t2:aa1:y1:xe", `"y" is "x", want "q", "r" or "e"`, "aa", false},
		{"long y", "d1:t2:aa1:y900:" + strings.Repeat("y", 900) + "e", `"y" is "` + strings.Repeat("y", 32) + `"…, want`, "aa", false},
		{"long key", "d1:t2:aa1:y1:q800:" + strings.Repeat("z", 800) + "i1e1:ai1ee", `dict key "a" is not after "` + strings.Repeat("z", 32) + `"…`, "aa", true},
		{"no q", "d1:a" + pingArgs + "1:t2:aa1:y1:qe", `query has no method "q"`, "aa", true},
		{"no a", "d1:q4:ping1:t2:aa1:y1:qe", `"ping" query has no arguments "a"`, "aa", true},
		{"a not a dict", ping("le"), `"a": got a list, want a dict`, "aa", true},
		{"no id", ping("de"), `"ping" query has no "id" in "a"`, "aa", true},
		{"id 19 bytes", ping("d2:id19:" + kadtest.RawID[1:] + "e"), `"id" is 19 bytes, want a 20-byte node ID`, "aa", true},
		{"id 21 bytes", ping("d2:id21:" + kadtest.RawID + "xe"), `"id" is 21 bytes`, "aa", true},
		{"id integer", ping("d2:idi1ee"), `"id": got an integer, want a string`, "aa", true},
		{"find_node no target", "d1:a" + pingArgs + "1:q9:find_node1:t2:aa1:y1:qe", `find_node query has no "target" in "a"`, "aa", true},
		{"target 25 bytes", "d1:ad2:id20:" + kadtest.RawID + "6:target25:" + kadtest.RawID + "12345e1:q9:find_node1:t2:aa1:y1:qe", `"target" is 25 bytes`, "aa", true},
		{"zero target", "d1:ad2:id20:" + kadtest.RawID + "6:target20:" + strings.Repeat("\x00", 20) + "e1:q9:find_node1:t2:aa1:y1:qe", `"target" is all zeros`, "aa", true},
		{"a without id in a reply", "d1:ade1:rd2:id20:" + kadtest.RawID + "e1:t2:aa1:y1:re", `"a" has no "id"`, "aa", false},
		{"r without id in an error", "d1:eli201e1:xe1:rde1:t2:aa1:y1:ee", `"r" has no "id"`, "aa", false},
		{"want not a list", ping("d2:id20:" + kadtest.RawID + "4:want2:n4e"), `"want": got a string, want a list`, "aa", true},
		{"no r", "d1:t2:aa1:y1:re", `response has no return values "r"`, "aa", false},
		{"r no id", reply("de"), `response has no "id" in "r"`, "aa", false},
		{"nodes 27 bytes", reply("d2:id20:" + kadtest.RawID + "5:nodes27:" + strings.Repeat("n", 27) + "e"), `"nodes" is 27 bytes, not a whole number of 26-byte entries`, "aa", false},
		{"nodes6 37 bytes", reply("d2:id20:" + kadtest.RawID + "6:nodes637:" + strings.Repeat("n", 37) + "e"), `"nodes6" is 37 bytes`, "aa", false},
		{"no e", "d1:t2:aa1:y1:ee", `error message has no "e"`, "aa", false},
		{"e string", errMsg("3:bad"), `"e": got a string, want a list`, "aa", false},
		{"e three items", errMsg("li201e1:x1:ye"), `"e" has more than a code and a message`, "aa", false},
		{"e code string", errMsg("l1:x1:ye"), `"e": got a string, want an integer`, "aa", false},
		{"e no message", errMsg("li201ee"), `"e": got the end of a dict or list, want a string`, "aa", false},
		{"ip 1 byte", "d2:ip1:x1:rd2:id20:" + kadtest.RawID + "e1:t2:aa1:y1:re", `"ip" is 1 byte, want 6 (IPv4) or 18 (IPv6)`, "aa", false},
		{"ip 5 bytes", "d2:ip5:xxxxx1:rd2:id20:" + kadtest.RawID + "e1:t2:aa1:y1:re", `"ip" is 5 bytes`, "aa", false},
		{"ro 2", "d1:a" + pingArgs + "1:q4:ping2:roi2e1:t2:aa1:y1:qe", `"ro" is 2, want 0 or 1`, "aa", true},
		{"ro string", "d1:a" + pingArgs + "1:q4:ping2:ro1:11:t2:aa1:y1:qe", `"ro": got a string, want an integer`, "aa", true},
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, c := range malformedCases() {
		t.Run(c.name, func(t *testing.T) {
			m, err := DecodeMsg([]byte(c.in))
			if err == nil {
				t.Fatalf("DecodeMsg(%q) accepted %+v, want error containing %q", c.in, m, c.reason)
			}
			me := wantMalformed(t, err)
			if !strings.Contains(me.Reason, c.reason) {
				t.Errorf("reason %q does not contain %q", me.Reason, c.reason)
			}
			if me.Code != krpc.ErrorCodeProtocolError {
				t.Errorf("code %d, want %d", me.Code, krpc.ErrorCodeProtocolError)
			}
			if me.T != c.t || me.Query != c.query {
				t.Errorf("T=%q Query=%v, want T=%q Query=%v", me.T, me.Query, c.t, c.query)
			}
			// Reason goes back to the peer in a KRPC error: it must stay short.
			if len(me.Reason) > 200 {
				t.Errorf("reason is %d bytes long", len(me.Reason))
			}
			if !strings.HasPrefix(err.Error(), "malformed KRPC message: ") {
				t.Errorf("error %q does not say what failed", err)
			}
		})
	}
}

func TestDecodeRefusesOversize(t *testing.T) {
	in := []byte("d1:t2:aa1:x" + strings.Repeat("x", MaxMessageSize) + "e")
	_, err := DecodeMsg(in)
	var tl *MessageTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("DecodeMsg of %d bytes: %v, want a *MessageTooLargeError", len(in), err)
	}
	if tl.Size != len(in) || tl.Limit != MaxMessageSize {
		t.Fatalf("got %+v, want Size %d Limit %d", tl, len(in), MaxMessageSize)
	}
}

// AppendMsg writes after what dst holds the bytes EncodeMsg returns, for
// every message kind (the value messages go through anacrolix's encoder);
// a message it refuses leaves dst as it was.
func TestAppendMsgExtendsDst(t *testing.T) {
	prefix := []byte("prefix")
	msgs := validMessages()
	for name, m := range bep44Messages(t) {
		msgs[name] = m
	}
	for name, m := range natMessages() {
		msgs[name] = m
	}
	for name, m := range msgs {
		m.T = "aa"
		want := mustEncode(t, m)
		dst := append(make([]byte, 0, 64), prefix...)
		got, err := AppendMsg(dst, m)
		if err != nil || !bytes.Equal(got, append(append([]byte{}, prefix...), want...)) {
			t.Fatalf("%s: AppendMsg gave %q, %v; want the prefix and %q", name, got, err, want)
		}
	}
	big := ErrorReply(krpc.ErrorCodeGenericError, strings.Repeat("x", MaxMessageSize))
	big.T = "aa"
	got, err := AppendMsg(prefix, big)
	if !errors.Is(err, ErrMessageTooLarge) || !bytes.Equal(got, prefix) {
		t.Fatalf("an oversized message: AppendMsg gave %q, %v; want the prefix alone and ErrMessageTooLarge", got, err)
	}
	if b, err := EncodeMsg(big); b != nil || err == nil {
		t.Fatalf("EncodeMsg of an oversized message gave %d bytes, %v; want nil and an error", len(b), err)
	}
}

func TestEncodeRefusesOversize(t *testing.T) {
	m := ErrorReply(krpc.ErrorCodeGenericError, strings.Repeat("x", MaxMessageSize))
	m.T = "aa"
	b, err := EncodeMsg(m)
	var tl *MessageTooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("EncodeMsg: %d bytes, err %v; want a *MessageTooLargeError", len(b), err)
	}
	if tl.Size <= MaxMessageSize || tl.Limit != MaxMessageSize {
		t.Fatalf("got %+v", tl)
	}
	if !strings.Contains(err.Error(), "over the 1100-byte limit") {
		t.Fatalf("error %q does not name the limit", err)
	}

	// One byte less than the limit of envelope and text must pass.
	m.E.Msg = ""
	env := len(mustEncode(t, m))
	m.E.Msg = strings.Repeat("x", MaxMessageSize-env-len("1100:")+len("0:"))
	if b := mustEncode(t, m); len(b) != MaxMessageSize {
		t.Fatalf("message of exactly the limit is %d bytes, want %d", len(b), MaxMessageSize)
	}
}

func TestEncodeRefusesInvalid(t *testing.T) {
	v6node := FindNodeReply(kadtest.ID(1), caller4, nil)
	v6node.R.Nodes = kadtest.Nodes(1, net.IPv6len) // an IPv6 contact in "nodes"
	badIP := PingReply(kadtest.ID(1), caller4)
	badIP.IP.IP = net.IP{1, 2, 3}
	cases := map[string]struct {
		m      *krpc.Msg
		reason string
	}{
		"nil":           {nil, "nil message"},
		"zero target":   {FindNodeQuery(kadtest.ID(1), krpc.ID{}, false), `find_node query has no "target"`},
		"no type":       {&krpc.Msg{R: &krpc.Return{}}, `no message type "y"`},
		"reply no r":    {&krpc.Msg{Y: krpc.YResponse}, `response has no return values "r"`},
		"v6 in nodes":   {v6node, `"nodes" holds 2001:db8::1, which is not an IPv4 address`},
		"3-byte ip":     {badIP, `"ip" address has 3 bytes`},
		"error no e":    {&krpc.Msg{Y: krpc.YError}, `error message has no "e"`},
		"query no args": {&krpc.Msg{Y: krpc.YQuery, Q: MethodPing}, `"ping" query has no arguments "a"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if c.m != nil {
				c.m.T = "aa"
			}
			_, err := EncodeMsg(c.m)
			me := wantMalformed(t, err)
			if !strings.Contains(me.Reason, c.reason) {
				t.Fatalf("reason %q does not contain %q", me.Reason, c.reason)
			}
		})
	}
	m := PingQuery(kadtest.ID(1), false) // no transaction ID set
	if _, err := EncodeMsg(m); !errors.Is(err, ErrMalformed) {
		t.Fatalf("EncodeMsg without t: %v, want ErrMalformed", err)
	}
}

func TestFindNodeReplySizes(t *testing.T) {
	self := kadtest.ID(0x11)
	v4, v6 := kadtest.Nodes(20, net.IPv4len), kadtest.Nodes(20, net.IPv6len)
	interleaved := make([]krpc.NodeInfo, 0, 40)
	for i := range v4 {
		interleaved = append(interleaved, v4[i], v6[i])
	}
	cases := []struct {
		name      string
		caller    netip.AddrPort
		nodes     []krpc.NodeInfo
		keep      int // how many of nodes, from the start, the reply carries
		wantNodes int
	}{
		{"k IPv4", caller6, v4, 20, 20},
		{"k IPv6", caller6, v6, 20, 20},
		{"k of each", caller6, interleaved, 31, 31},
		{"k IPv4 then k IPv6", caller6, append(append([]krpc.NodeInfo{}, v4...), v6...), 32, 32},
		{"IPv4 caller", caller4, interleaved, 31, 31},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := FindNodeReply(self, c.caller, c.nodes)
			m.T = strings.Repeat("t", MaxTransactionIDLen)
			b, err := EncodeMsg(m)
			if err != nil {
				t.Fatalf("EncodeMsg: %v", err)
			}
			n4, n6 := len(m.R.Nodes), len(m.R.Nodes6)
			if n4+n6 != c.wantNodes {
				t.Fatalf("reply carries %d+%d nodes, want %d", n4, n6, c.wantNodes)
			}
			if got := findNodeReplySize(len(m.IP.IP), n4, n6); got != len(b) {
				t.Fatalf("findNodeReplySize = %d, encoded %d bytes", got, len(b))
			}
			// The kept nodes are the closest: a prefix of the input, in order.
			var want4, want6 []krpc.NodeInfo
			for _, n := range c.nodes[:c.keep] {
				if len(n.Addr.IP) == net.IPv4len {
					want4 = append(want4, n)
				} else {
					want6 = append(want6, n)
				}
			}
			if !reflect.DeepEqual([]krpc.NodeInfo(m.R.Nodes), want4) || !reflect.DeepEqual([]krpc.NodeInfo(m.R.Nodes6), want6) {
				t.Fatalf("kept nodes are not the first %d of the input", c.keep)
			}
			// And one more would not have fitted.
			if c.keep < len(c.nodes) {
				next := c.nodes[c.keep]
				if len(next.Addr.IP) == net.IPv4len {
					n4++
				} else {
					n6++
				}
				if size := findNodeReplySize(len(m.IP.IP), n4, n6); size <= MaxMessageSize {
					t.Fatalf("trimmed at %d nodes, but %d would fit in %d bytes", c.keep, c.keep+1, size)
				}
			}
		})
	}
}

func TestFindNodeReplyNormalisesAddresses(t *testing.T) {
	mapped := krpc.NodeInfo{ID: kadtest.ID(1), Addr: krpc.NodeAddr{IP: net.ParseIP("192.0.2.9"), Port: 1}} // 16-byte form
	noIP := krpc.NodeInfo{ID: kadtest.ID(2)}
	v6 := kadtest.Nodes(1, net.IPv6len)[0]
	m := FindNodeReply(kadtest.ID(9), netip.MustParseAddrPort("[::ffff:192.0.2.7]:4114"), []krpc.NodeInfo{mapped, noIP, v6})
	if len(m.IP.IP) != net.IPv4len || m.IP.Port != 4114 {
		t.Fatalf(`"ip" = %v, want the IPv4 form of the mapped caller`, m.IP)
	}
	if len(m.R.Nodes) != 1 || !m.R.Nodes[0].Addr.IP.Equal(net.IP{192, 0, 2, 9}) || len(m.R.Nodes[0].Addr.IP) != net.IPv4len {
		t.Fatalf("nodes = %v, want the mapped address as IPv4", m.R.Nodes)
	}
	if len(m.R.Nodes6) != 1 || m.R.Nodes6[0].ID != v6.ID {
		t.Fatalf("nodes6 = %v, want the one IPv6 contact", m.R.Nodes6)
	}
	mustEncode(t, m)
}

func TestQueryBuilders(t *testing.T) {
	self, target := kadtest.ID(1), kadtest.ID(2)
	ro := mustEncode(t, PingQuery(self, true))
	if !bytes.Contains(ro, []byte("2:roi1e")) {
		t.Fatalf("read-only ping %q lacks ro=1", ro)
	}
	if rw := mustEncode(t, PingQuery(self, false)); bytes.Contains(rw, []byte("2:ro")) {
		t.Fatalf("ping %q carries ro", rw)
	}
	m, err := DecodeMsg(mustEncode(t, FindNodeQuery(self, target, true)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Q != MethodFindNode || m.A.ID != self || m.A.Target != target || !m.ReadOnly {
		t.Fatalf("decoded %+v, args %+v", m, m.A)
	}
}

func BenchmarkEncodeFindNodeReply(b *testing.B) {
	m := FindNodeReply(kadtest.ID(0x11), caller4, kadtest.Nodes(20, net.IPv4len))
	m.T = "aa"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeMsg(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFindNodeQuery(b *testing.B) {
	in := mustEncode(b, FindNodeQuery(kadtest.ID(0x11), kadtest.ID(0x22), false))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMsg(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeFindNodeReply(b *testing.B) {
	in := mustEncode(b, FindNodeReply(kadtest.ID(0x11), caller4, kadtest.Nodes(20, net.IPv4len)))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeMsg(in); err != nil {
			b.Fatal(err)
		}
	}
}
