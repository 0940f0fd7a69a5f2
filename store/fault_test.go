package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/cockroachdb/pebble/vfs/errorfs"
	"github.com/kadnode/kadnode/kad"
)

// faultyDisk fails write operations with its errno once broken: a real file
// system underneath, with the disk full on demand. Creating the existing
// directory and locking the existing LOCK file still succeed, as they do on
// a full disk.
type faultyDisk struct {
	errno  syscall.Errno
	broken atomic.Bool
	// createOnly fails only the creation of files: existing files can still
	// be written (the space is already allocated), new ones cannot.
	createOnly bool
	// syncOnly fails only fsync, as a failing device may.
	syncOnly bool
}

func (d *faultyDisk) MaybeError(op errorfs.Op, path string) error {
	if op == errorfs.OpMkdirAll || op == errorfs.OpLock {
		return nil
	}
	if d.createOnly && op != errorfs.OpCreate && op != errorfs.OpReuseForRewrite {
		return nil
	}
	if d.syncOnly && op != errorfs.OpFileSync {
		return nil
	}
	if d.broken.Load() && op.OpKind() == errorfs.OpKindWrite {
		return fmt.Errorf("%s: %w", path, d.errno)
	}
	return nil
}

// fs returns the real file system with d's faults. errorfs leaves a WAL
// file reused for writing unwrapped, so writes to it would succeed on a
// broken disk; faultyFS wraps it too.
func (d *faultyDisk) fs() vfs.FS { return faultyFS{errorfs.Wrap(vfs.Default, d), d} }

type faultyFS struct {
	*errorfs.FS
	disk *faultyDisk
}

func (f faultyFS) ReuseForWrite(oldname, newname string) (vfs.File, error) {
	file, err := f.FS.ReuseForWrite(oldname, newname)
	if err != nil {
		return nil, err
	}
	return errorfs.WrapFile(file, f.disk), nil
}

// within runs f and fails the test if it does not return in time: a store
// call must never block forever, whatever the disk does.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not return", what)
		panic("unreachable")
	}
}

func TestDiskFaultsGiveErrorsNotPanics(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EROFS, syscall.EIO} {
		t.Run(errno.Error(), func(t *testing.T) {
			dir := t.TempDir()
			disk := &faultyDisk{errno: errno}
			o := testOptions()
			o.fs = disk.fs()
			s, err := Open(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			want := map[krpc.ID]kad.Contact{}
			for i := range 10 {
				if err := s.Put(testContact(i)); err != nil {
					t.Fatal(err)
				}
				want[testID(i)] = testContact(i)
			}
			if err := s.Touch(testContact(1)); err != nil {
				t.Fatal(err)
			}

			disk.broken.Store(true)
			err = within(t, "Put on a broken disk", func() error { return s.Put(testContact(100)) })
			if !errors.Is(err, kad.ErrStoreFailed) || !errors.Is(err, errno) {
				t.Fatalf("Put on a broken disk: %v, want ErrStoreFailed wrapping %v", err, errno)
			}
			t.Logf("Put: %v", err)
			// The store stays failed, and says so at once.
			for name, op := range map[string]func() error{
				"Put":    func() error { return s.Put(testContact(101)) },
				"Delete": func() error { return s.Delete(testID(1)) },
				"Touch":  func() error { return s.Touch(testContact(2)) },
			} {
				if err := within(t, name, op); !errors.Is(err, kad.ErrStoreFailed) {
					t.Fatalf("%s after failure: %v, want ErrStoreFailed", name, err)
				}
			}
			if st := s.Stats(); st.Errors == 0 {
				t.Fatalf("stats count no error: %+v", st)
			}
			// Reads still work from what Pebble has.
			if _, err := s.Load(); err != nil {
				t.Fatalf("Load after a write failure: %v", err)
			}
			err = within(t, "Close", s.Close)
			if !errors.Is(err, kad.ErrStoreFailed) {
				t.Fatalf("Close after a failure: %v, want the failure reported", err)
			}

			// With the disk back, everything that was acknowledged is there.
			s = openT(t, dir, testOptions())
			checkContacts(t, loadT(t, s), want)
		})
	}
}

func TestOpenOnBrokenDiskFails(t *testing.T) {
	dir := t.TempDir()
	want := storeOf(t, dir, 1, 2)
	disk := &faultyDisk{errno: syscall.ENOSPC}
	disk.broken.Store(true)
	o := testOptions()
	o.fs = disk.fs()
	err := within(t, "Open", func() error { _, err := Open(dir, o); return err })
	if !errors.Is(err, syscall.ENOSPC) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open on a full disk: %v, want ENOSPC", err)
	}
	t.Logf("Open: %v", err)
	// Nothing was lost or locked by the failed attempt.
	checkContacts(t, loadT(t, openT(t, dir, testOptions())), want)
}

// TestDiskFullDuringFlushes breaks the disk while memtables rotate and
// flush, where Pebble panics with its locks held (see guard.go). It runs in
// a child process, because a wedged Pebble keeps its goroutines: the child
// must neither crash nor hang, and every Put it saw succeed must be there
// when the store is opened again.
func TestDiskFullDuringFlushes(t *testing.T) {
	for _, tc := range []struct {
		breakAfter int
		createOnly bool
	}{{500, false}, {1500, false}, {3000, false}, {1500, true}} {
		t.Run(fmt.Sprintf("%d,createOnly=%v", tc.breakAfter, tc.createOnly), func(t *testing.T) {
			dir := t.TempDir()
			t.Setenv(childBreakEnv, fmt.Sprintf("%d,%v", tc.breakAfter, tc.createOnly))
			c := startChild(t, roleDiskFull, dir)
			lines := make(chan string)
			go func() {
				defer close(lines)
				for c.lines.Scan() {
					lines <- c.lines.Text()
				}
			}()
			var acked []int
			closed := ""
			timeout := time.After(60 * time.Second)
			for reading := true; reading; {
				select {
				case line, ok := <-lines:
					switch {
					case !ok:
						reading = false
					case strings.HasPrefix(line, "closed"):
						closed = line
					default:
						i, err := strconv.Atoi(line)
						if err != nil {
							t.Fatalf("child said %q", line)
						}
						acked = append(acked, i)
					}
				case <-timeout:
					t.Fatal("child did not finish: a store call blocked")
				}
			}
			if err := c.cmd.Wait(); err != nil {
				t.Fatalf("child failed: %v", err)
			}
			if closed == "" {
				t.Fatal("child did not get through Close")
			}
			t.Logf("%d puts acknowledged; %s", len(acked), closed)
			if tc.createOnly && !strings.Contains(closed, "panicked") {
				t.Fatal("a failed WAL rotation did not go through the panic guard; the test no longer covers it")
			}

			s := openT(t, dir, testOptions())
			stored := map[krpc.ID]bool{}
			for _, c := range loadT(t, s) {
				stored[c.ID] = true
			}
			for _, i := range acked {
				if !stored[testID(i)] {
					t.Fatalf("acknowledged contact %d lost", i)
				}
			}
		})
	}
}

// childDiskFull is the child side of TestDiskFullDuringFlushes: four writers
// put contacts (printing each acknowledged one) until the disk, full after
// breakAfter puts, makes Put fail; then it closes the store.
func childDiskFull(dir string, breakAfter int, createOnly bool) error {
	disk := &faultyDisk{errno: syscall.ENOSPC, createOnly: createOnly}
	o := testOptions()
	o.fs = disk.fs()
	o.MemTableSize = 64 << 10 // rotate and flush every few hundred contacts
	s, err := Open(dir, o)
	if err != nil {
		return err
	}
	var out sync.Mutex
	var puts atomic.Int64
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < 20_000; i += 4 {
				if puts.Add(1) == int64(breakAfter) {
					disk.broken.Store(true)
				}
				if err := s.Put(testContact(i)); err != nil {
					if !errors.Is(err, kad.ErrStoreFailed) {
						errs <- fmt.Errorf("put: %v, want ErrStoreFailed", err)
					}
					return
				}
				out.Lock()
				fmt.Println(i)
				out.Unlock()
			}
			errs <- errors.New("the disk never failed")
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	err = s.Close()
	if !errors.Is(err, kad.ErrStoreFailed) {
		return fmt.Errorf("close: %v, want ErrStoreFailed", err)
	}
	fmt.Printf("closed: %q\n", err.Error())
	return nil
}
