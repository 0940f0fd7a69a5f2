package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestForeignNetworkIsRefused(t *testing.T) {
	dir := t.TempDir()
	want := storeOf(t, dir, 1, 2)
	o := testOptions()
	o.Network = "othernet"
	_, err := Open(dir, o)
	checkDirError(t, err, ErrForeign, dir, `network "testnet", not "othernet"`, "--network", "--data-dir")

	// Refused means untouched: the right network still opens it, contacts and all.
	checkContacts(t, loadT(t, openT(t, dir, testOptions())), want)
}

func TestForeignKeySizeIsRefused(t *testing.T) {
	dir := t.TempDir()
	m := Meta{KeyBits: 256, SelfID: testID(-1), Network: testNetwork}
	writeRaw(t, dir, rawHeader(t, schemaVersion, m))
	_, err := Open(dir, testOptions())
	checkDirError(t, err, ErrForeign, dir, "256-bit", "160-bit", "--data-dir")
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	m := testMeta()
	writeRaw(t, dir, rawHeader(t, schemaVersion+1, m))
	_, err := Open(dir, testOptions())
	checkDirError(t, err, ErrSchema, dir, fmt.Sprintf("schema version %d", schemaVersion+1), "upgrade kadnode")
}

func TestIdentityChangeKeepsContacts(t *testing.T) {
	dir := t.TempDir()
	oldSelf, newSelf := testID(-1), testID(-2)
	want := storeOf(t, dir, 0, 30)

	var logged bytes.Buffer
	o := testOptions()
	o.SelfID = newSelf
	o.Logger = slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	old, changed := s.SelfChanged()
	if !changed || old != oldSelf {
		t.Fatalf("SelfChanged() = %x, %v; want %x, true", old[:], changed, oldSelf[:])
	}
	if s.Meta().SelfID != newSelf {
		t.Fatalf("meta self ID %x, want the new %x", s.Meta().SelfID, newSelf)
	}
	checkContacts(t, loadT(t, s), want)
	if !strings.Contains(logged.String(), "own node ID changed") {
		t.Fatalf("identity change not logged at info; log: %q", logged.String())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The new ID is now the stored one.
	s = openT(t, dir, o)
	if _, changed := s.SelfChanged(); changed {
		t.Fatal("SelfChanged again on the second open with the new ID")
	}
	checkContacts(t, loadT(t, s), want)
}

func TestRecordsWithoutSchemaAreRefused(t *testing.T) {
	dir := t.TempDir()
	writeRaw(t, dir, map[string][]byte{"x": []byte("something else's data")})
	_, err := Open(dir, testOptions())
	checkDirError(t, err, ErrCorrupt, dir, "no schema version", "move the directory aside")
}

// checkDirError fails unless err matches kind and its message names dir
// and contains every hint.
func checkDirError(t *testing.T, err, kind error, dir string, hints ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want %v", err, kind)
	}
	for _, h := range append([]string{dir}, hints...) {
		if !strings.Contains(err.Error(), h) {
			t.Fatalf("error %q does not mention %q", err, h)
		}
	}
}
