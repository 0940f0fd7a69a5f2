package store

import (
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// A store that fails on a broken disk refuses writes and counts them as
// unsaved; once the disk takes writes again the Reopener opens a new store
// without being asked, writes the caller's table back (dropping what the
// table no longer holds), and a later Open finds exactly that table.
func TestReopenerRecoversAfterDiskFault(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			disk := &faultyDisk{errno: errno}
			o := testOptions()
			o.fs = disk.fs()
			r, err := OpenReopener(dir, o, time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex // the Reopener reads the table from its goroutine
			table := map[krpc.ID]kad.Contact{}
			for i := range 10 {
				if err := r.Put(testContact(i)); err != nil {
					t.Fatal(err)
				}
				table[testID(i)] = testContact(i)
			}
			r.WriteBack(func() []kad.Contact {
				mu.Lock()
				defer mu.Unlock()
				cs := make([]kad.Contact, 0, len(table))
				for _, c := range table {
					cs = append(cs, c)
				}
				return cs
			})
			if h := r.Health(); h.Err != nil || h.Failures != 0 {
				t.Fatalf("healthy store reports %+v", h)
			}

			disk.broken.Store(true)
			// The table changes while the disk is broken: one contact
			// goes, two come; the store takes none of it.
			mu.Lock()
			delete(table, testID(3))
			for _, i := range []int{20, 21} {
				table[testID(i)] = testContact(i)
			}
			mu.Unlock()
			err = within(t, "Update on a broken disk", func() error {
				return r.Update([]kad.Contact{testContact(20), testContact(21)}, []krpc.ID{testID(3)})
			})
			if !errors.Is(err, kad.ErrStoreFailed) {
				t.Fatalf("Update on a broken disk: %v, want ErrStoreFailed", err)
			}
			waitFor(t, "the failure to be noted", func() bool { return r.Health().Failures == 1 })
			h := r.Health()
			if h.Err == nil || h.Unsaved == 0 || h.Since.IsZero() || h.Reopens != 0 {
				t.Fatalf("failed store reports %+v", h)
			}
			t.Logf("failed: %v", h.Err)

			disk.broken.Store(false)
			waitFor(t, "the store to reopen", func() bool { return r.Health().Err == nil })
			if h := r.Health(); h.Reopens != 1 || h.Failures != 1 || !h.Since.IsZero() {
				t.Fatalf("reopened store reports %+v", h)
			}
			if err := r.Put(testContact(30)); err != nil {
				t.Fatalf("Put after the reopen: %v", err)
			}
			mu.Lock()
			table[testID(30)] = testContact(30)
			mu.Unlock()
			if err := within(t, "Close", r.Close); err != nil {
				t.Fatalf("Close after the reopen: %v", err)
			}
			s := openT(t, dir, testOptions())
			checkContacts(t, loadT(t, s), table)
		})
	}
}
