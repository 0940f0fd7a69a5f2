package store

import (
	"testing"
)

func TestSecondOpenInProcessIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, testOptions())
	checkDirError(t, err, ErrLocked, dir, "is in use by another kadnode", "--data-dir")
	// The failed attempt must not have released or broken the first one.
	if err := s.Put(testContact(1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, testOptions())
	if n := len(loadT(t, s)); n != 1 {
		t.Fatalf("%d contacts after reopen, want 1", n)
	}
}

func TestSecondProcessIsLocked(t *testing.T) {
	dir := t.TempDir()
	holder := startChild(t, roleHold, dir)
	if got := holder.line(t); got != "open" {
		t.Fatalf("child said %q", got)
	}
	_, err := Open(dir, testOptions())
	checkDirError(t, err, ErrLocked, dir, "is in use by another kadnode", "another process")

	// Once the holder exits, the lock is free.
	if err := holder.stdin.Close(); err != nil {
		t.Fatal(err)
	}
	if err := holder.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	openT(t, dir, testOptions())
}

func TestOtherProcessCannotOpenWhileHeld(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, testOptions())
	c := startChild(t, roleHold, dir)
	err := c.cmd.Wait()
	if code := c.cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("child exit %v (code %d), want 3: the open must fail", err, code)
	}
	if err := s.Put(testContact(1)); err != nil {
		t.Fatalf("holder broken by the other process: %v", err)
	}
}
