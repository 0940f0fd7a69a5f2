package kad

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"errors"
	"fmt"
	"net/netip"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// Item is a BEP 44 item: an immutable one (K zero) is addressed by the
// SHA-1 of its value, a mutable one by its Ed25519 key and salt, and
// carries a sequence number and a signature over salt, seq and value.
type Item struct {
	V    []byte   // the bencoded value, at most MaxValueSize bytes
	K    [32]byte // Ed25519 public key; zero for an immutable item
	Salt []byte   // at most MaxSaltSize bytes; mutable only
	Seq  int64    // mutable only
	Sig  [64]byte // mutable only
}

// Mutable reports whether it is a mutable (signed) item.
func (it *Item) Mutable() bool { return it.K != [32]byte{} }

// Target is where the item lives: SHA-1 of the value (immutable) or of
// key and salt (mutable), as BEP 44 defines it.
func (it *Item) Target() krpc.ID {
	if it.Mutable() {
		return krpc.ID(bep44.MakeMutableTarget(it.K, it.Salt))
	}
	return krpc.ID(sha1.Sum(it.V))
}

// Check applies BEP 44's rules to an item arriving in a put or a get
// reply: value size, salt size and signature. It returns the KRPC error
// to answer with (code 205, 207 or 206, or 203 for a value that is not
// one bencode value), or nil.
func (it *Item) Check() *krpc.Error {
	if len(it.V) > MaxValueSize {
		return &krpc.Error{Code: krpc.ErrorCodeMessageValueFieldTooBig,
			Msg: fmt.Sprintf("value is %s bencoded, over BEP 44's %d", nBytes(len(it.V)), MaxValueSize)}
	}
	if err := checkValue(it.V); err != nil {
		return &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: err.Error()}
	}
	if !it.Mutable() {
		if len(it.Salt) > 0 || it.Seq != 0 || it.Sig != [64]byte{} {
			return &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: `immutable item (no "k") with "salt", "seq" or "sig"`}
		}
		return nil
	}
	if len(it.Salt) > MaxSaltSize {
		return &krpc.Error{Code: krpc.ErrorCodeSaltFieldTooBig,
			Msg: fmt.Sprintf("salt is %s, over BEP 44's %d", nBytes(len(it.Salt)), MaxSaltSize)}
	}
	if it.Seq < 0 {
		return &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: `"seq" is negative`}
	}
	// bep44.Check repeats the size checks above (with less to say) and
	// verifies the signature over the buffer BEP 44 specifies.
	if err := bep44.Check(it.bep44()); err != nil {
		var ke krpc.Error
		if errors.As(err, &ke) {
			return &ke
		}
		return &krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: err.Error()}
	}
	return nil
}

func (it *Item) bep44() *bep44.Item {
	return &bep44.Item{V: bencode.Bytes(it.V), K: it.K, Salt: it.Salt, Seq: it.Seq, Sig: it.Sig}
}

// Equal reports whether two items are the same item and version.
func (it *Item) Equal(o *Item) bool {
	return it.K == o.K && it.Seq == o.Seq && it.Sig == o.Sig && bytes.Equal(it.Salt, o.Salt) && bytes.Equal(it.V, o.V)
}

// ImmutableItem makes the immutable item of bencoded value v.
func ImmutableItem(v []byte) (Item, error) {
	it := Item{V: bytes.Clone(v)}
	if e := it.Check(); e != nil {
		return Item{}, fmt.Errorf("immutable item: %s", e.Msg)
	}
	return it, nil
}

// SignedItem makes the mutable item of bencoded value v under key priv and
// salt at sequence number seq, signed as BEP 44 specifies.
func SignedItem(priv ed25519.PrivateKey, salt, v []byte, seq int64) (Item, error) {
	it := Item{V: bytes.Clone(v), Salt: bytes.Clone(salt), Seq: seq}
	copy(it.K[:], priv.Public().(ed25519.PublicKey))
	copy(it.Sig[:], bep44.Sign(priv, it.Salt, seq, it.V))
	if e := it.Check(); e != nil {
		return Item{}, fmt.Errorf("mutable item: %s", e.Msg)
	}
	return it, nil
}

// checkValue makes sure v is exactly one bencode value.
func checkValue(v []byte) error {
	r := bencodeReader{b: v}
	if err := r.skip(maxBencodeDepth); err != nil {
		return fmt.Errorf(`"v" is not a bencode value: %w`, err)
	}
	if r.pos != len(v) {
		return fmt.Errorf(`"v" has %s after its value`, nBytes(len(v)-r.pos))
	}
	return nil
}

// longestT is a transaction ID of the longest allowed length.
var longestT = string(make([]byte, MaxTransactionIDLen))

// GetQuery asks a node for the item at target (BEP 44 get), and for the
// contacts it knows closest to it and a write token.
func GetQuery(self, target krpc.ID, ro bool) *krpc.Msg {
	return &krpc.Msg{Y: krpc.YQuery, Q: MethodGet, A: &krpc.MsgArgs{ID: self, Target: target}, ReadOnly: ro}
}

// GetReply answers get with a write token, the closest nodes and, when
// the node holds it, the item. Like FindNodeReply it drops the farthest
// nodes until the reply fits.
func GetReply(self krpc.ID, caller netip.AddrPort, nodes []krpc.NodeInfo, token string, it *Item) *krpc.Msg {
	limit := MaxMessageSize
	if it != nil {
		limit = MaxValueMessageSize
	}
	for {
		m := FindNodeReply(self, caller, nodes)
		tok := token
		m.R.Token = &tok
		if it != nil {
			m.R.V = bencode.Bytes(it.V)
			if it.Mutable() {
				seq := it.Seq
				m.R.K, m.R.Sig, m.R.Seq = it.K, it.Sig, &seq
			}
		}
		m.T = longestT // measure with the longest "t" the transport may set
		b, err := bencode.Marshal(m)
		m.T = ""
		if err != nil || len(b) <= limit || len(nodes) == 0 {
			return m
		}
		nodes = nodes[:len(nodes)-1]
	}
}

// ReplyItem returns the item a get reply carries, or nil; the caller must
// still Check it and compare its target.
func ReplyItem(r *krpc.Return) *Item {
	if r == nil || r.V == nil {
		return nil
	}
	it := &Item{V: []byte(r.V), K: r.K, Sig: r.Sig}
	if r.Seq != nil {
		it.Seq = *r.Seq
	}
	return it
}

// PutQuery stores it on a node (BEP 44 put) with the token that node gave
// in its get reply. cas, when non-zero, is the sequence number the
// stored item must have for the put to succeed (0 cannot be sent: KRPC's
// encoder omits it).
func PutQuery(self krpc.ID, token string, it *Item, cas int64, ro bool) *krpc.Msg {
	a := &krpc.MsgArgs{ID: self, Token: token, V: bencode.Bytes(it.V)}
	if it.Mutable() {
		seq := it.Seq
		a.K, a.Salt, a.Seq, a.Sig, a.Cas = it.K, it.Salt, &seq, it.Sig, cas
		if len(it.Salt) == 0 {
			a.Salt = nil
		}
	}
	return &krpc.Msg{Y: krpc.YQuery, Q: MethodPut, A: a, ReadOnly: ro}
}

// QueryItem returns the item a put query carries, or nil without "v".
func QueryItem(a *krpc.MsgArgs) *Item {
	if a == nil || a.V == nil {
		return nil
	}
	v, ok := a.V.(bencode.Bytes)
	if !ok {
		b, err := bencode.Marshal(a.V)
		if err != nil {
			return nil
		}
		v = b
	}
	it := &Item{V: []byte(v), K: a.K, Salt: a.Salt, Sig: a.Sig}
	if a.Seq != nil {
		it.Seq = *a.Seq
	}
	return it
}

// PutReply acknowledges a stored put.
func PutReply(self krpc.ID, caller netip.AddrPort) *krpc.Msg { return PingReply(self, caller) }
