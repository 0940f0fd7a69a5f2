package kad

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// FuzzDecode checks that DecodeMsg never panics, refuses with a typed error
// a reply can be built from, and that whatever it accepts re-encodes (byte
// for byte as anacrolix's encoder would) and decodes to the same message.
func FuzzDecode(f *testing.F) {
	for _, m := range validMessages() {
		f.Add(mustEncode(f, m))
	}
	for _, m := range natMessages() {
		f.Add(mustEncode(f, m))
	}
	for _, c := range malformedCases() {
		f.Add([]byte(c.in))
	}
	for _, m := range bep44Messages(f) {
		f.Add(mustEncode(f, m))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := DecodeMsg(in)
		if err != nil {
			checkDecodeError(t, in, err)
			return
		}
		out, err := EncodeMsg(m)
		if err != nil {
			t.Fatalf("accepted %q as %+v, but EncodeMsg refuses it: %v", in, m, err)
		}
		// Re-encoding only drops what the decoder skips (unknown keys,
		// ro=0, empty nodes); if nothing was dropped, the input was
		// already canonical and comes back byte for byte.
		if len(out) > len(in) || (len(out) == len(in) && !bytes.Equal(out, in)) {
			t.Fatalf("re-encoding is not the canonical form of the input:\nin  %q\nout %q", in, out)
		}
		ref, err := bencode.Marshal(m)
		if err != nil || !bytes.Equal(out, ref) {
			t.Fatalf("encoders disagree on %+v:\nours %q\nref  %q (err %v)", m, out, ref, err)
		}
		again, err := DecodeMsg(out)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v (input %q)", out, err, in)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed the message:\nfirst  %+v\nsecond %+v", m, again)
		}
	})
}

func checkDecodeError(t *testing.T, in []byte, err error) {
	var tl *MessageTooLargeError
	if errors.As(err, &tl) {
		if len(in) <= MaxMessageSize {
			t.Fatalf("%d bytes refused as too large: %v", len(in), err)
		}
		return
	}
	var me *MalformedError
	if !errors.As(err, &me) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("error %v (%T) for %q is not typed", err, err, in)
	}
	if me.Reason == "" || me.Code != krpc.ErrorCodeProtocolError || len(me.T) > MaxTransactionIDLen {
		t.Fatalf("bad error for %q: %+v", in, me)
	}
	// The reason goes back to the peer in a KRPC error, which must fit.
	if len(me.Reason) > 300 {
		t.Fatalf("reason of %d bytes for %q: %s", len(me.Reason), in, me.Reason)
	}
}
