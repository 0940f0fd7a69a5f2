package kad

import (
	"encoding/binary"
	"fmt"
	"net"

	"github.com/anacrolix/dht/v2/krpc"
)

// msgDecoder fills a krpc.Msg from a bencodeReader.
type msgDecoder struct {
	r bencodeReader
	m krpc.Msg
	p presence
	// problem is the first field of the right bencode syntax but the wrong
	// type or size. Decoding goes on past it so that "t" and "y" are still
	// read and the sender can be answered.
	problem error
}

// field decodes the value of key k with decode. A failure on a value that
// is well-formed bencode is recorded as d.problem and the value skipped; a
// syntax error ends decoding.
func (d *msgDecoder) field(depth int, k []byte, decode func(*msgDecoder, []byte) error) error {
	start := d.r.pos
	err := decode(d, k)
	if err == nil {
		return nil
	}
	d.r.pos = start
	if serr := d.r.skip(depth); serr != nil {
		return serr
	}
	if d.problem == nil {
		d.problem = err
	}
	return nil
}

// topField decodes the value of top-level key k.
func (d *msgDecoder) topField(k []byte) error {
	r, m := &d.r, &d.m
	var err error
	switch string(k) {
	case "t":
		m.T, err = r.string("t")
	case "y":
		m.Y, err = r.string("y")
	case "q":
		m.Q, err = r.method()
	case "v":
		m.ClientId, err = r.string("v")
	case "a":
		m.A = new(krpc.MsgArgs)
		err = d.dict("a", (*msgDecoder).argField)
	case "r":
		m.R = new(krpc.Return)
		err = d.dict("r", (*msgDecoder).returnField)
	case "e":
		m.E, err = r.krpcError()
	case "ip":
		m.IP, err = r.nodeAddr("ip")
	case "ro":
		m.ReadOnly, err = r.flag("ro")
	default:
		err = r.skip(maxBencodeDepth - 1)
	}
	return err
}

// dict decodes the dict value of a top-level key with decode per key.
func (d *msgDecoder) dict(name string, decode func(*msgDecoder, []byte) error) error {
	if d.r.kind() != 'd' {
		return fieldError(name, d.r.open('d'))
	}
	return d.r.dict(func(k []byte) error { return d.field(maxBencodeDepth-2, k, decode) })
}

// argField decodes the value of key k of the query arguments "a".
func (d *msgDecoder) argField(k []byte) error {
	r, a := &d.r, d.m.A
	switch string(k) {
	case "id":
		d.p.aID = true
		return r.id("id", &a.ID)
	case "target":
		d.p.target = true
		start := r.pos
		if err := r.id("target", &a.Target); err != nil {
			return err
		}
		if a.Target.IsZero() {
			// The encoder omits a zero ID, so such a target could never
			// be sent back or forwarded; kadnode does not use it.
			return &bencodeError{pos: start, reason: `"target" is all zeros, which KRPC's encoder cannot send`}
		}
		return nil
	case "want":
		// BEP 32: a list of "n4" / "n6"; other strings are ignored by the
		// node but kept so that the message re-encodes as it came.
		if err := r.open('l'); err != nil {
			return fieldError("want", err)
		}
		a.Want = []krpc.Want{}
		for {
			end, err := r.atEnd()
			if err != nil || end {
				return err
			}
			w, err := r.string("want")
			if err != nil {
				return err
			}
			a.Want = append(a.Want, krpc.Want(w))
		}
	case "token", "v", "seq", "cas", "k", "salt", "sig":
		return r.bep44Arg(string(k), a)
	}
	return r.skip(maxBencodeDepth - 2)
}

// returnField decodes the value of key k of the response values "r".
func (d *msgDecoder) returnField(k []byte) error {
	r, ret := &d.r, d.m.R
	switch string(k) {
	case "id":
		d.p.rID = true
		return r.id("id", &ret.ID)
	case "nodes":
		b, err := r.compact("nodes", compactIPv4NodeLen)
		ret.Nodes = compactNodes(b, compactIPv4NodeLen)
		return err
	case "nodes6":
		b, err := r.compact("nodes6", compactIPv6NodeLen)
		ret.Nodes6 = compactNodes(b, compactIPv6NodeLen)
		return err
	case "token", "v", "seq", "k", "sig":
		return r.bep44Return(string(k), ret)
	}
	return r.skip(maxBencodeDepth - 2)
}

// fieldError names the field whose value failed to parse.
func fieldError(name string, err error) error {
	if be, ok := err.(*bencodeError); ok {
		return &bencodeError{pos: be.pos, reason: fmt.Sprintf("%q: %s", name, be.reason)}
	}
	return err
}

func (r *bencodeReader) string(name string) (string, error) {
	b, err := r.bytes()
	if err != nil {
		return "", fieldError(name, err)
	}
	return string(b), nil
}

// method reads "q", without allocating for the methods kadnode knows.
func (r *bencodeReader) method() (string, error) {
	b, err := r.bytes()
	switch {
	case err != nil:
		return "", fieldError("q", err)
	case string(b) == MethodPing:
		return MethodPing, nil
	case string(b) == MethodFindNode:
		return MethodFindNode, nil
	case string(b) == MethodGet:
		return MethodGet, nil
	case string(b) == MethodPut:
		return MethodPut, nil
	}
	return string(b), nil
}

// id reads a node ID: a string of exactly 20 bytes.
func (r *bencodeReader) id(name string, id *krpc.ID) error {
	start := r.pos
	b, err := r.bytes()
	if err != nil {
		return fieldError(name, err)
	}
	if len(b) != len(id) {
		return &bencodeError{pos: start, reason: fmt.Sprintf("%q is %s, want a %d-byte node ID", name, nBytes(len(b)), len(id))}
	}
	copy(id[:], b)
	return nil
}

// flag reads a BEP 43 style boolean: i0e or i1e.
func (r *bencodeReader) flag(name string) (bool, error) {
	start := r.pos
	v, err := r.int()
	if err != nil {
		return false, fieldError(name, err)
	}
	if v != 0 && v != 1 {
		return false, &bencodeError{pos: start, reason: fmt.Sprintf("%q is %d, want 0 or 1", name, v)}
	}
	return v == 1, nil
}

// nodeAddr reads a compact address (BEP 42 "ip"): 4 or 16 address bytes
// and a big-endian port.
func (r *bencodeReader) nodeAddr(name string) (krpc.NodeAddr, error) {
	start := r.pos
	b, err := r.bytes()
	if err != nil {
		return krpc.NodeAddr{}, fieldError(name, err)
	}
	if len(b) != net.IPv4len+2 && len(b) != net.IPv6len+2 {
		return krpc.NodeAddr{}, &bencodeError{pos: start, reason: fmt.Sprintf("%q is %s, want 6 (IPv4) or 18 (IPv6)", name, nBytes(len(b)))}
	}
	return compactAddr(b), nil
}

// compactAddr decodes address bytes followed by a big-endian port.
func compactAddr(b []byte) krpc.NodeAddr {
	return krpc.NodeAddr{
		IP:   net.IP(append([]byte(nil), b[:len(b)-2]...)),
		Port: int(binary.BigEndian.Uint16(b[len(b)-2:])),
	}
}

// compact reads a string of whole entries of elemLen bytes.
func (r *bencodeReader) compact(name string, elemLen int) ([]byte, error) {
	start := r.pos
	b, err := r.bytes()
	if err != nil {
		return nil, fieldError(name, err)
	}
	if len(b)%elemLen != 0 {
		return nil, &bencodeError{pos: start, reason: fmt.Sprintf("%q is %s, not a whole number of %d-byte entries", name, nBytes(len(b)), elemLen)}
	}
	return b, nil
}

// compactNodes splits whole compact entries (BEP 5 / BEP 32) into node
// infos; an empty field decodes as none.
func compactNodes(b []byte, elemLen int) []krpc.NodeInfo {
	if len(b) == 0 || len(b)%elemLen != 0 {
		return nil
	}
	nodes := make([]krpc.NodeInfo, len(b)/elemLen)
	ipLen := elemLen - len(krpc.ID{}) - 2
	ips := make(net.IP, len(nodes)*ipLen) // one allocation for all addresses
	for i := range nodes {
		e := b[i*elemLen : (i+1)*elemLen]
		copy(nodes[i].ID[:], e)
		ip := ips[i*ipLen : (i+1)*ipLen : (i+1)*ipLen]
		copy(ip, e[len(krpc.ID{}):])
		nodes[i].Addr = krpc.NodeAddr{IP: ip, Port: int(binary.BigEndian.Uint16(e[elemLen-2:]))}
	}
	return nodes
}

// krpcError reads "e": a list of exactly an integer code and a string.
func (r *bencodeReader) krpcError() (*krpc.Error, error) {
	if err := r.open('l'); err != nil {
		return nil, fieldError("e", err)
	}
	code, err := r.int()
	if err != nil {
		return nil, fieldError("e", err)
	}
	msg, err := r.string("e")
	if err != nil {
		return nil, err
	}
	if end, err := r.atEnd(); err != nil || !end {
		if err == nil {
			err = r.errorf(`"e" has more than a code and a message`)
		}
		return nil, err
	}
	return &krpc.Error{Code: int(code), Msg: msg}, nil
}
