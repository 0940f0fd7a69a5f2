package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestProgressOnlyOnTerminal(t *testing.T) {
	var quiet bytes.Buffer
	p := startProgress(&quiet, "looking up")
	p.set("still looking")
	p.finish()
	if quiet.Len() != 0 {
		t.Errorf("progress wrote %q to a non-terminal", quiet.String())
	}

	var tty syncBuffer // the progress loop writes while the test reads
	p = newProgress(&tty, "contacting 1 seed(s)", true)
	waitFor(t, "the first progress line", func() bool { return strings.Contains(tty.String(), "contacting 1 seed(s) ") })
	p.set("looking up")
	waitFor(t, "the new label", func() bool { return strings.Contains(tty.String(), "looking up ") })
	p.finish()
	if out := tty.String(); !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("progress did not clear its line at the end: %q", out)
	}
}

func TestIsTerminal(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer counts as a terminal")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("%s counts as a terminal", os.DevNull)
	}
}
