package kad

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
	"github.com/kadnode/kadnode/kad/kadtest"
)

// natMessages are the NAT traversal messages, for the codec tests and
// FuzzDecode's corpus.
func natMessages() map[string]*krpc.Msg {
	self, target := kadtest.ID(1), kadtest.ID(2)
	v4 := netip.MustParseAddrPort("198.51.100.7:6881")
	v6 := netip.MustParseAddrPort("[2001:db8::7]:6881")
	withT := func(m *krpc.Msg) *krpc.Msg { m.T = "aa"; return m }
	unsure := func(m *krpc.Msg) *krpc.Msg { m.A.Want = []krpc.Want{NATPortUnsure}; return m }
	return map[string]*krpc.Msg{
		"nat_register":       withT(NATQuery(MethodNATRegister, self, krpc.ID{}, netip.AddrPort{}, false)),
		"nat_connect":        withT(NATQuery(MethodNATConnect, self, target, netip.AddrPort{}, true)),
		"nat_punch":          withT(NATQuery(MethodNATPunch, self, target, v4, false)),
		"nat_punch v6":       withT(NATQuery(MethodNATPunch, self, target, v6, true)),
		"nat_connect unsure": withT(unsure(NATQuery(MethodNATConnect, self, target, netip.AddrPort{}, true))),
		"nat_punch unsure":   withT(unsure(NATQuery(MethodNATPunch, self, target, v4, true))),
		"nat_check":          withT(NATQuery(MethodNATCheck, self, target, netip.AddrPort{}, true)),
		"nat_dial":           withT(NATQuery(MethodNATDial, self, target, v4, false)),
		"nat_nonce":          withT(NATQuery(MethodNATNonce, self, target, netip.AddrPort{}, false)),
		"nat_connect reply":  withT(NATConnectReply(self, v4, target, v4)),
		"port 0 in find_node": withT(FindNodeReply(self, v4, []krpc.NodeInfo{
			{ID: target, Addr: krpc.NodeAddr{IP: v4.Addr().AsSlice(), Port: 0}},
		})),
	}
}

// TestNATMessagesRoundTrip: every NAT message encodes as anacrolix's
// encoder would, decodes back unchanged, and is a method kadnode knows.
func TestNATMessagesRoundTrip(t *testing.T) {
	for name, m := range natMessages() {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, m)
			ref, err := bencode.Marshal(m)
			if err != nil || !bytes.Equal(b, ref) {
				t.Fatalf("encoders disagree:\nours %q\nref  %q (err %v)", b, ref, err)
			}
			got, err := DecodeMsg(b)
			if err != nil {
				t.Fatalf("decoding %q: %v", b, err)
			}
			again := mustEncode(t, got)
			if !bytes.Equal(again, b) {
				t.Fatalf("round trip changed %q into %q", b, again)
			}
			if m.Y == krpc.YQuery && !KnownMethod(m.Q) {
				t.Fatalf("%s is not a known method", m.Q)
			}
		})
	}
}

// TestPortZeroContactSurvives: a contact handed out with port 0 (reach it
// through the responder) keeps its ID and IP through the codec.
func TestPortZeroContactSurvives(t *testing.T) {
	m := natMessages()["port 0 in find_node"]
	got, err := DecodeMsg(mustEncode(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.R.Nodes) != 1 || got.R.Nodes[0].Addr.Port != 0 || got.R.Nodes[0].ID != kadtest.ID(2) ||
		!bytes.Equal(got.R.Nodes[0].Addr.IP.To4(), []byte{198, 51, 100, 7}) {
		t.Fatalf("decoded nodes %+v", got.R.Nodes)
	}
}
