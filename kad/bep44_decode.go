package kad

import (
	"bytes"
	"fmt"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// Decoding of BEP 44's fields. Only their bencode types and fixed sizes
// are checked here; the value and salt sizes and the signature are the
// node's to check (Item.Check), since each has its own KRPC error code
// (205, 207, 206) that a refusal by the decoder (203) would hide.

// bep44Arg decodes the BEP 44 key k of the query arguments into a.
func (r *bencodeReader) bep44Arg(k string, a *krpc.MsgArgs) error {
	switch k {
	case "token":
		tok, err := r.token()
		a.Token = tok
		return err
	case "v":
		v, err := r.rawValue()
		if err == nil {
			a.V = bencode.Bytes(v)
		}
		return err
	case "seq":
		seq, err := r.int()
		if err != nil {
			return fieldError(k, err)
		}
		a.Seq = &seq
	case "cas":
		cas, err := r.int()
		if err != nil {
			return fieldError(k, err)
		}
		a.Cas = cas
	case "k":
		return r.fixed(k, a.K[:])
	case "sig":
		return r.fixed(k, a.Sig[:])
	case "salt":
		salt, err := r.bytes()
		if err != nil {
			return fieldError(k, err)
		}
		if len(salt) > 0 { // the encoder omits an empty salt
			a.Salt = bytes.Clone(salt)
		}
	}
	return nil
}

// bep44Return decodes the BEP 44 key k of the return values into ret.
func (r *bencodeReader) bep44Return(k string, ret *krpc.Return) error {
	switch k {
	case "token":
		tok, err := r.token()
		if err == nil {
			ret.Token = &tok
		}
		return err
	case "v":
		v, err := r.rawValue()
		if err == nil {
			ret.V = v
		}
		return err
	case "seq":
		seq, err := r.int()
		if err != nil {
			return fieldError(k, err)
		}
		ret.Seq = &seq
	case "k":
		return r.fixed(k, ret.K[:])
	case "sig":
		return r.fixed(k, ret.Sig[:])
	}
	return nil
}

// token reads a write token of at most MaxTokenLen bytes.
func (r *bencodeReader) token() (string, error) {
	start := r.pos
	b, err := r.bytes()
	if err != nil {
		return "", fieldError("token", err)
	}
	if len(b) > MaxTokenLen {
		return "", &bencodeError{pos: start, reason: fmt.Sprintf(`"token" is %s, want at most %d`, nBytes(len(b)), MaxTokenLen)}
	}
	return string(b), nil
}

// rawValue reads "v": any one bencode value, kept as its bytes, which are
// what the signature and the target cover.
func (r *bencodeReader) rawValue() ([]byte, error) {
	start := r.pos
	if err := r.skip(maxBencodeDepth - 2); err != nil {
		return nil, fieldError("v", err)
	}
	return bytes.Clone(r.b[start:r.pos]), nil
}

// fixed reads a string of exactly len(dst) bytes (a key or a signature).
func (r *bencodeReader) fixed(name string, dst []byte) error {
	start := r.pos
	b, err := r.bytes()
	if err != nil {
		return fieldError(name, err)
	}
	if len(b) != len(dst) {
		return &bencodeError{pos: start, reason: fmt.Sprintf("%q is %s, want %d", name, nBytes(len(b)), len(dst))}
	}
	copy(dst, b)
	return nil
}

// carriesValue reports whether m carries a BEP 44 value, which lets it be
// up to MaxValueMessageSize bytes long.
func carriesValue(m *krpc.Msg) bool {
	return (m.A != nil && m.A.V != nil) || (m.R != nil && m.R.V != nil)
}
