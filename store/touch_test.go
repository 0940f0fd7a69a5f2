package store

import (
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestTouchCoalescesToOneWritePerContact(t *testing.T) {
	s := openT(t, t.TempDir(), testOptions()) // interval 1 min: no tick during the test
	want := map[krpc.ID]kad.Contact{}
	for i := range 5 {
		if err := s.Put(testContact(i)); err != nil {
			t.Fatal(err)
		}
	}
	before := s.Stats()
	for round := range 100 {
		for i := range 5 {
			c := testContact(i)
			c.LastSeen = c.LastSeen.Add(time.Duration(round+1) * time.Second)
			if err := s.Touch(c); err != nil {
				t.Fatal(err)
			}
			want[c.ID] = c
		}
	}
	if got := s.Stats(); got.Writes != before.Writes {
		t.Fatalf("Touch wrote: %d batches before, %d after", before.Writes, got.Writes)
	}
	// Load sees pending touches before they are written.
	checkContacts(t, loadT(t, s), want)
	if err := s.flushTouches(false); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Writes != before.Writes+1 || st.Touches != 5 || st.Coalesced != 495 {
		t.Fatalf("after flush: %+v (before %+v), want one batch of 5 touches and 495 coalesced", st, before)
	}
	checkContacts(t, loadT(t, s), want)
}

func TestPutSupersedesPendingTouch(t *testing.T) {
	s := openT(t, t.TempDir(), testOptions())
	c := testContact(1)
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	touched := c
	touched.LastSeen = c.LastSeen.Add(time.Hour)
	if err := s.Touch(touched); err != nil {
		t.Fatal(err)
	}
	moved := touched
	moved.Addr = testContact(2).Addr
	if err := s.Put(moved); err != nil {
		t.Fatal(err)
	}
	if err := s.flushTouches(false); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Touches != 0 || st.Coalesced != 1 {
		t.Fatalf("stats %+v: the touch should have been absorbed by the Put", st)
	}
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{c.ID: moved})

	// A Delete drops a pending touch: the contact must not come back.
	if err := s.Touch(moved); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.flushTouches(false); err != nil {
		t.Fatal(err)
	}
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{})
}

func TestCloseWritesPendingTouches(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	c := testContact(3)
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	c.LastSeen = c.LastSeen.Add(time.Hour)
	if err := s.Touch(c); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testOptions())
	checkContacts(t, loadT(t, s), map[krpc.ID]kad.Contact{c.ID: c})
}

func TestTouchesAreWrittenEveryInterval(t *testing.T) {
	o := testOptions()
	o.TouchInterval = 10 * time.Millisecond
	s := openT(t, t.TempDir(), o)
	c := testContact(4)
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	c.LastSeen = c.LastSeen.Add(time.Minute)
	if err := s.Touch(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the periodic touch write", func() bool { return s.Stats().Touches == 1 })
	// Nothing pending: later ticks write nothing more.
	writes := s.Stats().Writes
	c.LastSeen = c.LastSeen.Add(time.Minute)
	if err := s.Touch(c); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second periodic touch write", func() bool { return s.Stats().Touches == 2 })
	if got := s.Stats().Writes; got != writes+1 {
		t.Fatalf("writes went from %d to %d for one pending touch", writes, got)
	}
}
