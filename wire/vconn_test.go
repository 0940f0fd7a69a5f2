package wire

import (
	"bytes"
	"slices"
	"testing"
)

// A flight's datagram is cut before its first record of a later epoch,
// so that pion never queues a record it cannot decrypt yet.
func TestSplitAtEpoch(t *testing.T) {
	rec := func(ctype byte, epoch uint16, body string) []byte {
		r := []byte{ctype, dtlsVersionMajor, 0xfd, byte(epoch >> 8), byte(epoch), 0, 0, 0, 0, 0, 0, 0, byte(len(body))}
		return append(r, body...)
	}
	ccs, fin, app := rec(contentChangeCipherSpec, 0, "\x01"), rec(contentHandshake, 1, "finished"), rec(contentApplicationData, 1, "data")
	hello := rec(contentHandshake, 0, "server hello")
	for _, tc := range []struct {
		name      string
		in        []byte
		now, rest []byte
	}{
		{"hello, ccs, finished", slices.Concat(hello, ccs, fin), slices.Concat(hello, ccs), fin},
		{"ccs, finished", slices.Concat(ccs, fin), ccs, fin},
		{"finished, data", slices.Concat(fin, app), slices.Concat(fin, app), nil},
		{"one record", hello, hello, nil},
		{"truncated", []byte{22, 0xfe}, []byte{22, 0xfe}, nil},
		{"length past the end", append(slices.Clone(hello[:12]), 200), append(slices.Clone(hello[:12]), 200), nil},
	} {
		now, rest := splitAtEpoch(tc.in)
		if !bytes.Equal(now, tc.now) || !bytes.Equal(rest, tc.rest) {
			t.Errorf("%s: split into %x | %x, want %x | %x", tc.name, now, rest, tc.now, tc.rest)
		}
	}
}
