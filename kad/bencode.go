package kad

import (
	"fmt"
	"strconv"
)

// bencodeReader reads canonical bencode (BEP 3) from a byte slice without
// reflection. It is the strict half of the codec: anacrolix's decoder
// truncates over-long IDs, accepts unsorted and duplicate keys, allocates a
// string's declared length before reading it and panics on some short
// compact fields, so incoming bytes never reach it.
//
// Every method reports a syntax error as a *bencodeError with the offset.
type bencodeReader struct {
	b   []byte
	pos int
}

type bencodeError struct {
	pos    int
	reason string
}

func (e *bencodeError) Error() string {
	return fmt.Sprintf("%s (at byte %d)", e.reason, e.pos)
}

func (r *bencodeReader) errorf(format string, args ...any) error {
	return &bencodeError{pos: r.pos, reason: fmt.Sprintf(format, args...)}
}

// kind names the type of the next value, for error messages and dispatch:
// 'd' dict, 'l' list, 'i' integer, 's' string, 'e' the end of a dict or
// list, 0 the end of the input, '?' anything else.
func (r *bencodeReader) kind() byte {
	if r.pos >= len(r.b) {
		return 0
	}
	switch c := r.b[r.pos]; {
	case c == 'd' || c == 'l' || c == 'i' || c == 'e':
		return c
	case c >= '0' && c <= '9':
		return 's'
	}
	return '?'
}

// quoteShort quotes peer-supplied text for an error message, cut short:
// the message may go back to the peer in a KRPC error, which must stay
// small, and into logs. The bound is on the quoted text, because a
// control byte quotes to four characters.
func quoteShort[S ~string | ~[]byte](s S) string {
	const max = 2 + 32 // the quotes and 32 printable bytes
	q := strconv.Quote(string(s))
	if len(q) <= max {
		return q
	}
	for n := min(len(s), max); n > 0; n-- {
		if q = strconv.Quote(string(s[:n])); len(q) <= max {
			break
		}
	}
	return q + "…"
}

// nBytes spells a byte count for error messages.
func nBytes(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return strconv.Itoa(n) + " bytes"
}

// kindName spells a kind() result for error messages.
func kindName(k byte) string {
	switch k {
	case 'd':
		return "a dict"
	case 'l':
		return "a list"
	case 'i':
		return "an integer"
	case 's':
		return "a string"
	case 'e':
		return "the end of a dict or list"
	case 0:
		return "the end of the input"
	}
	return "not a bencode value"
}

// atEnd reports whether the next byte closes a dict or list, and consumes it.
func (r *bencodeReader) atEnd() (bool, error) {
	if r.pos >= len(r.b) {
		return false, r.errorf("message ends inside a dict or list")
	}
	if r.b[r.pos] == 'e' {
		r.pos++
		return true, nil
	}
	return false, nil
}

// open consumes the 'd' or 'l' that starts a container of the given kind.
func (r *bencodeReader) open(k byte) error {
	if got := r.kind(); got != k {
		return r.errorf("got %s, want %s", kindName(got), kindName(k))
	}
	r.pos++
	return nil
}

// bytes reads a string and returns it as a sub-slice of the input.
func (r *bencodeReader) bytes() ([]byte, error) {
	if r.kind() != 's' {
		return nil, r.errorf("got %s, want a string", kindName(r.kind()))
	}
	start := r.pos
	n := 0
	for r.pos < len(r.b) && r.b[r.pos] != ':' {
		c := r.b[r.pos]
		if c < '0' || c > '9' {
			return nil, r.errorf("string length has a non-digit %q", c)
		}
		// The input is at most MaxMessageSize bytes, so a length past it
		// is wrong however many digits follow; stop before overflow.
		if n = n*10 + int(c-'0'); n > len(r.b) {
			return nil, r.errorf("string length runs past the end of the input")
		}
		r.pos++
	}
	if r.pos >= len(r.b) {
		return nil, r.errorf("string length has no ':'")
	}
	if r.b[start] == '0' && r.pos-start > 1 {
		return nil, &bencodeError{pos: start, reason: "string length has a leading zero"}
	}
	r.pos++ // ':'
	if n > len(r.b)-r.pos {
		return nil, r.errorf("string of %s runs past the end of the input", nBytes(n))
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// int reads an integer that fits in int64, in canonical form: no leading
// zeros, no "-0", no empty "ie".
func (r *bencodeReader) int() (int64, error) {
	if err := r.open('i'); err != nil {
		return 0, err
	}
	start := r.pos
	for r.pos < len(r.b) && r.b[r.pos] != 'e' {
		r.pos++
	}
	if r.pos >= len(r.b) {
		return 0, r.errorf("integer has no closing 'e'")
	}
	digits := r.b[start:r.pos]
	r.pos++ // 'e'
	s := string(digits)
	neg := len(s) > 0 && s[0] == '-'
	mag := s
	if neg {
		mag = s[1:]
	}
	if mag == "" {
		return 0, &bencodeError{pos: start, reason: fmt.Sprintf("integer %s has no digits", quoteShort(s))}
	}
	if mag[0] == '0' && (len(mag) > 1 || neg) {
		return 0, &bencodeError{pos: start, reason: fmt.Sprintf("integer %s is not canonical", quoteShort(s))}
	}
	for i := 0; i < len(mag); i++ {
		if mag[i] < '0' || mag[i] > '9' {
			return 0, &bencodeError{pos: start, reason: fmt.Sprintf("integer %s has a non-digit", quoteShort(s))}
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &bencodeError{pos: start, reason: fmt.Sprintf("integer %s does not fit in 64 bits", quoteShort(s))}
	}
	return v, nil
}

// key reads a dict key and checks that keys are in strictly increasing
// byte order (sorted and unique), as canonical bencode requires.
func (r *bencodeReader) key(prev []byte, first bool) ([]byte, error) {
	start := r.pos
	k, err := r.bytes()
	if err != nil {
		return nil, err
	}
	if !first && string(k) <= string(prev) {
		return nil, &bencodeError{pos: start, reason: fmt.Sprintf("dict key %s is not after %s (keys must be sorted and unique)", quoteShort(k), quoteShort(prev))}
	}
	return k, nil
}

// dict calls field for each key of the dict that starts at the current
// position; field must consume the key's value.
func (r *bencodeReader) dict(field func(key []byte) error) error {
	if err := r.open('d'); err != nil {
		return err
	}
	var prev []byte
	for first := true; ; first = false {
		end, err := r.atEnd()
		if err != nil || end {
			return err
		}
		k, err := r.key(prev, first)
		if err != nil {
			return err
		}
		if err := field(k); err != nil {
			return err
		}
		prev = k
	}
}

// skip checks and consumes one value of any type, nested at most depth
// levels.
func (r *bencodeReader) skip(depth int) error {
	if depth <= 0 {
		return r.errorf("nested deeper than %d levels", maxBencodeDepth)
	}
	switch r.kind() {
	case 's':
		_, err := r.bytes()
		return err
	case 'i':
		_, err := r.int()
		return err
	case 'l':
		r.pos++
		for {
			end, err := r.atEnd()
			if err != nil || end {
				return err
			}
			if err := r.skip(depth - 1); err != nil {
				return err
			}
		}
	case 'd':
		return r.dict(func([]byte) error { return r.skip(depth - 1) })
	case 0:
		return r.errorf("input ends where a value should be")
	}
	return r.errorf("byte %q does not start a bencode value", r.b[r.pos])
}
