//go:build linux

package testnet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// LoopDisk is an ext4 file system in an image file, mounted on a
// directory with errors=remount-ro: what a node's data dir on its own
// disk looks like, and what the kernel does to it when the disk fails.
type LoopDisk struct {
	img, dir string
	size     int64
}

// loopDiskFiller is the file that fills a LoopDisk.
const loopDiskFiller = "filler"

// NewLoopDisk mounts a fresh file system of size bytes on dir until the
// test ends, or skips the test where that is not possible (it needs root,
// mkfs.ext4 and a free loop device).
func NewLoopDisk(t testing.TB, dir string, size int64) *LoopDisk {
	t.Helper()
	d := &LoopDisk{img: filepath.Join(t.TempDir(), "disk.img"), dir: dir, size: size}
	f, err := os.Create(d.img)
	if err == nil {
		err = errors.Join(f.Truncate(size), f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-m", "0", d.img).CombinedOutput(); err != nil {
		t.Skipf("cannot make a file system for the data dir (mkfs.ext4: %v %s); disk faults need e2fsprogs", err, out)
	}
	if err := d.mount(); err != nil {
		t.Skipf("cannot mount a loop device on %s (%v); disk faults need root and a free loop device", dir, err)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", d.dir).CombinedOutput(); err != nil {
			t.Errorf("unmounting %s: %v %s", d.dir, err, out)
		}
	})
	return d
}

func (d *LoopDisk) mount() error {
	out, err := exec.Command("mount", "-o", "loop,errors=remount-ro", d.img, d.dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// Device is the loop device's name, e.g. loop0.
func (d *LoopDisk) Device(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("findmnt", "-n", "-o", "SOURCE", d.dir).Output()
	if err != nil {
		t.Fatalf("finding the device of %s: %v", d.dir, err)
	}
	return filepath.Base(strings.TrimSpace(string(out)))
}

// GoReadOnly makes ext4 report an error, so the kernel remounts the file
// system read-only under the running node, as it does when a disk fails:
// writes to files already open fail too.
func (d *LoopDisk) GoReadOnly(t testing.TB) {
	t.Helper()
	trigger := filepath.Join("/sys/fs/ext4", d.Device(t), "trigger_fs_error")
	if err := os.WriteFile(trigger, []byte("kadnode disk-fault test\n"), 0); err != nil {
		t.Fatalf("triggering a file system error: %v", err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("the file system is not read-only after the error: %v", err)
	}
}

// Fill writes to the file system until it has no space left.
func (d *LoopDisk) Fill(t testing.TB) {
	t.Helper()
	f, err := os.Create(filepath.Join(d.dir, loopDiskFiller))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for range 2 * d.size / int64(len(chunk)) { // bounded: twice the disk
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("filling the disk: %v, want ENOSPC", err)
	}
}

// detach makes sure the loop device dev no longer holds the image: its
// automatic release after umount can lag on a busy machine, and a mount
// that picked up the old device would see its stale cache, not what
// e2fsck repaired.
func (d *LoopDisk) detach(t testing.TB, dev string) {
	t.Helper()
	_ = exec.Command("losetup", "-d", dev).Run() // fails when already released
	deadline := time.Now().Add(loopDetachWait)
	for {
		out, err := exec.Command("losetup", "-j", d.img).Output()
		if err != nil {
			t.Fatalf("losetup -j %s: %v", d.img, err)
		}
		if strings.TrimSpace(string(out)) == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image %s is still attached after %v: %s", d.img, loopDetachWait, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loopDetachWait bounds the wait for a loop device to let go of its image.
const loopDetachWait = 30 * time.Second

// Free removes what Fill wrote, with the file system still mounted under
// whatever runs on it.
func (d *LoopDisk) Free(t testing.TB) {
	t.Helper()
	if err := os.Remove(filepath.Join(d.dir, loopDiskFiller)); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
}

// Heal unmounts the file system, repairs it as a boot would, removes the
// filler and mounts it again.
func (d *LoopDisk) Heal(t testing.TB) {
	t.Helper()
	dev := "/dev/" + d.Device(t)
	if out, err := exec.Command("umount", d.dir).CombinedOutput(); err != nil {
		t.Fatalf("unmounting %s: %v %s", d.dir, err, out)
	}
	d.detach(t, dev)
	// e2fsck exits 1 when it fixed something, which a file system that
	// went read-only on an error expects.
	if out, err := exec.Command("e2fsck", "-f", "-y", d.img).CombinedOutput(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() > 1 {
			t.Fatalf("e2fsck: %v %s", err, out)
		}
	}
	if err := d.mount(); err != nil {
		t.Fatalf("mounting %s again: %v", d.dir, err)
	}
	d.Free(t)
}
