package kad

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"net"
	"reflect"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
	"github.com/kadnode/kadnode/kad/kadtest"
)

// BEP 44's test vectors: the key below signs "Hello World!" at seq 1.
const (
	vectorPub      = "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548"
	vectorSig      = "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"
	vectorSaltSig  = "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"
	vectorTarget   = "4a533d47ec9c7d95b1ad75f576cffc641853b750"
	vectorSaltTgt  = "411eba73b6f087ca51a3795d9c8c938d365e32c1"
	vectorImmTgt   = "e5f96f6f38320f0f33959cb4d3d656452117aadb"
	vectorValue    = "12:Hello World!"
	vectorSaltText = "foobar"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorItem is BEP 44's mutable test item, with or without its salt.
func vectorItem(t testing.TB, salted bool) Item {
	it := Item{V: []byte(vectorValue), Seq: 1}
	copy(it.K[:], mustHex(t, vectorPub))
	copy(it.Sig[:], mustHex(t, vectorSig))
	if salted {
		it.Salt = []byte(vectorSaltText)
		copy(it.Sig[:], mustHex(t, vectorSaltSig))
	}
	return it
}

func TestBEP44Vectors(t *testing.T) {
	for _, c := range []struct {
		name   string
		it     Item
		target string
	}{
		{"mutable", vectorItem(t, false), vectorTarget},
		{"mutable with salt", vectorItem(t, true), vectorSaltTgt},
		{"immutable", Item{V: []byte(vectorValue)}, vectorImmTgt},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.it.Target(); hex.EncodeToString(got[:]) != c.target {
				t.Fatalf("target %x, want %s", got, c.target)
			}
			if e := c.it.Check(); e != nil {
				t.Fatalf("the vector's signature is refused: %v", e)
			}
			if !c.it.Mutable() {
				return
			}
			// The signature covers salt, seq and value: changing any
			// one of them must break it.
			for what, change := range map[string]func(*Item){
				"seq":   func(it *Item) { it.Seq++ },
				"value": func(it *Item) { it.V = []byte("12:Hello World?") },
				"salt":  func(it *Item) { it.Salt = []byte("foobaz") },
				"sig":   func(it *Item) { it.Sig[0] ^= 1 },
			} {
				it := c.it
				change(&it)
				if e := it.Check(); e == nil || e.Code != krpc.ErrorCodeInvalidSignature {
					t.Errorf("changed %s: Check = %v, want code 206", what, e)
				}
			}
		})
	}
}

func TestSignedItemMatchesVectorsKey(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	it, err := SignedItem(priv, []byte("s"), []byte("3:abc"), 7)
	if err != nil {
		t.Fatal(err)
	}
	if e := it.Check(); e != nil {
		t.Fatalf("own signature refused: %v", e)
	}
	other := it
	other.Seq = 8
	if e := other.Check(); e == nil || e.Code != krpc.ErrorCodeInvalidSignature {
		t.Fatalf("seq changed after signing: Check = %v, want 206", e)
	}
}

func TestItemCheckCodes(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	signed := func(salt []byte, v string) Item {
		it := Item{V: []byte(v), Salt: salt, Seq: 1}
		copy(it.K[:], priv.Public().(ed25519.PublicKey))
		// Sign without SignedItem's checks, to build invalid items.
		copy(it.Sig[:], ed25519.Sign(priv, append(append([]byte("4:salt"), bencode.MustMarshal(salt)...), []byte("3:seqi1e1:v"+v)...)))
		if len(salt) == 0 {
			copy(it.Sig[:], ed25519.Sign(priv, []byte("3:seqi1e1:v"+v)))
		}
		return it
	}
	big := "1000:" + strings.Repeat("x", 1000) // 1,005 bytes bencoded
	fits := "995:" + strings.Repeat("x", 995)  // exactly 1,000
	for _, c := range []struct {
		name string
		it   Item
		code int
	}{
		{"immutable oversize", Item{V: []byte(big)}, krpc.ErrorCodeMessageValueFieldTooBig},
		{"mutable oversize", signed(nil, big), krpc.ErrorCodeMessageValueFieldTooBig},
		{"salt 65 bytes", signed(bytes.Repeat([]byte("s"), 65), "1:x"), krpc.ErrorCodeSaltFieldTooBig},
		{"not bencode", Item{V: []byte("x")}, krpc.ErrorCodeProtocolError},
		{"two values", Item{V: []byte("1:x1:y")}, krpc.ErrorCodeProtocolError},
		{"immutable with seq", Item{V: []byte("1:x"), Seq: 3}, krpc.ErrorCodeProtocolError},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.it.Check()
			if e == nil || e.Code != c.code {
				t.Fatalf("Check = %v, want code %d", e, c.code)
			}
			if e.Msg == "" {
				t.Fatal("error without a message")
			}
		})
	}
	for _, it := range []Item{{V: []byte(fits)}, signed(nil, fits), signed(bytes.Repeat([]byte("s"), 64), "1:x")} {
		if e := it.Check(); e != nil {
			t.Errorf("item at the limits refused: %v", e)
		}
	}
}

// bep44Messages are BEP 44 messages kadnode sends.
func bep44Messages(t testing.TB) map[string]*krpc.Msg {
	self, target := kadtest.ID(0x11), kadtest.ID(0x22)
	mut := vectorItem(t, false)
	salted := vectorItem(t, true)
	imm := Item{V: []byte("d1:ai1e1:bl1:xee")}
	big := Item{V: []byte("995:" + strings.Repeat("v", 995))}
	return map[string]*krpc.Msg{
		"get":                  GetQuery(self, target, false),
		"get reply empty":      GetReply(self, caller4, kadtest.Nodes(8, net.IPv4len), "tok12345", nil),
		"get reply immutable":  GetReply(self, caller4, kadtest.Nodes(3, net.IPv4len), "tok12345", &imm),
		"get reply mutable":    GetReply(self, caller6, kadtest.Nodes(3, net.IPv6len), "tok12345", &salted),
		"get reply big":        GetReply(self, caller4, kadtest.Nodes(20, net.IPv4len), "tok12345", &big),
		"put immutable":        PutQuery(self, "tok12345", &imm, 0, false),
		"put mutable":          PutQuery(self, "tok12345", &mut, 0, false),
		"put mutable salt cas": PutQuery(self, "tok12345", &salted, 4, true),
		"put big":              PutQuery(self, "tok12345", &big, 0, false),
		"put reply":            PutReply(self, caller4),
	}
}

func TestBEP44RoundTrip(t *testing.T) {
	for name, m := range bep44Messages(t) {
		t.Run(name, func(t *testing.T) {
			b, got := encodeDecode(t, m)
			again, err := EncodeMsg(got)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoding differs:\nfirst  %q\nsecond %q (err %v)", b, again, err)
			}
			if m.A != nil && m.A.V != nil {
				if want, got := QueryItem(m.A), QueryItem(got.A); !got.Equal(want) {
					t.Fatalf("put item %+v, want %+v", got, want)
				}
			}
			if m.R != nil && m.R.V != nil {
				if !reflect.DeepEqual(got.R.Bep44Return, m.R.Bep44Return) || *got.R.Token != *m.R.Token {
					t.Fatalf("get reply item %+v, want %+v", got.R.Bep44Return, m.R.Bep44Return)
				}
			}
		})
	}
}

func TestGetReplyFits(t *testing.T) {
	it := Item{V: []byte("995:" + strings.Repeat("v", 995))}
	m := GetReply(kadtest.ID(1), caller6, kadtest.Nodes(20, net.IPv6len), "tok12345", &it)
	b := mustEncode(t, m)
	if len(b) > MaxValueMessageSize {
		t.Fatalf("get reply of %d bytes, over %d", len(b), MaxValueMessageSize)
	}
	if len(m.R.Nodes6) == 0 || len(m.R.Nodes6) == 20 {
		t.Fatalf("reply keeps %d of 20 IPv6 nodes; want some dropped to fit, not all", len(m.R.Nodes6))
	}
}

func TestBEP44DecodeRejects(t *testing.T) {
	put := func(a string) string { return "d1:ad" + a + "e1:q3:put1:t2:aa1:y1:qe" }
	id := "2:id20:" + kadtest.RawID
	for name, c := range map[string]struct{ in, reason string }{
		"get no target": {"d1:ad" + id + "e1:q3:get1:t2:aa1:y1:qe", `get query has no "target"`},
		"put no v":      {put(id + "5:token2:tk"), `put query has no value "v"`},
		"k 31 bytes":    {put(id + "1:k31:" + strings.Repeat("k", 31) + "5:token2:tk1:v1:x"), `"k" is 31 bytes, want 32`},
		"sig 63 bytes":  {put(id + "3:sig63:" + strings.Repeat("s", 63) + "5:token2:tk1:v1:x"), `"sig" is 63 bytes, want 64`},
		"seq string":    {put(id + "3:seq1:15:token2:tk1:v1:x"), `"seq": got a string, want an integer`},
		"long token":    {put(id + "5:token33:" + strings.Repeat("t", 33) + "1:v1:x"), `"token" is 33 bytes`},
		"v not bencode": {put(id + "5:token2:tk1:vx"), `byte 'x' does not start`},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := DecodeMsg([]byte(c.in))
			if err == nil {
				t.Fatalf("accepted %+v", m)
			}
			if me := wantMalformed(t, err); !strings.Contains(me.Reason, c.reason) {
				t.Fatalf("reason %q (T %q), want %q", me.Reason, me.T, c.reason)
			}
		})
	}
}

// Only a message carrying a value may exceed MaxMessageSize.
func TestBEP44MessageSizes(t *testing.T) {
	pad := strings.Repeat("p", MaxMessageSize)
	noValue := "d1:ad2:id20:" + kadtest.RawID + "5:token1100:" + pad + "e1:q3:put1:t2:aa1:y1:qe"
	if _, err := DecodeMsg([]byte(noValue)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("%d-byte message without a value: %v, want too large", len(noValue), err)
	}
	m := ErrorReply(krpc.ErrorCodeGenericError, pad)
	m.T = "aa"
	if _, err := EncodeMsg(m); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversize error message encoded: %v", err)
	}
	huge := "d1:ad2:id20:" + kadtest.RawID + "1:v1400:" + strings.Repeat("v", 1400) + "e1:q3:put1:t2:aa1:y1:qe"
	if _, err := DecodeMsg([]byte(huge)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("%d-byte put: %v, want too large", len(huge), err)
	}
}
