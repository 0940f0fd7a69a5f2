package wire

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestIdentityCreatedPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	id, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	if di, err := os.Stat(dir); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Fatalf("data dir %v, err %v: want it private to the owner", di.Mode(), err)
	}
	// The file holds the key the identity uses, as PKCS#8 PEM.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key file is not a PRIVATE KEY PEM block:\n%s", data)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil || !id.Key.Equal(k) {
		t.Fatalf("key file holds %T (err %v), not the identity's key", k, err)
	}
}

func TestIdentityReloadKeepsID(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	second, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID != first.ID || !second.Key.Equal(first.Key) {
		t.Fatalf("reload gave ID %v, first %v", second.ID, first.ID)
	}
	other, err := LoadOrCreateIdentity(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == first.ID {
		t.Fatal("two data dirs got the same ID")
	}
}

func TestIdentityIDIsSHA1OfSPKI(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(id.Key.Public())
	if err != nil {
		t.Fatal(err)
	}
	if want := sha1.Sum(spki); id.ID != want {
		t.Fatalf("ID %v, want SHA-1 of the SubjectPublicKeyInfo %x", id.ID, want)
	}
	leaf := id.Cert.Leaf
	if !bytes.Equal(leaf.RawSubjectPublicKeyInfo, spki) || IDFromCert(leaf) != id.ID {
		t.Fatal("certificate does not carry the identity's public key")
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("certificate is not self-signed by the key: %v", err)
	}
	if len(id.Cert.Certificate) != 1 || !bytes.Equal(id.Cert.Certificate[0], leaf.Raw) {
		t.Fatal("tls.Certificate does not hold the leaf")
	}
	// Printed as 40 hex digits that parse back.
	s := id.ID.String()
	if back, err := kad.ParseID(s); err != nil || back != id.ID || len(s) != 40 {
		t.Fatalf("ID prints as %q, which parses to %v, %v", s, back, err)
	}
}

func TestIdentityLoosePermissions(t *testing.T) {
	dir := t.TempDir()
	want, err := LoadOrCreateIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFileName)
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o777} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateIdentity(dir)
		if err == nil {
			t.Fatalf("key file with mode %04o accepted", mode)
		}
		for _, part := range []string{path, "chmod 600 " + path, "other users can read it"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("mode %04o: error %q does not contain %q", mode, err, part)
			}
		}
	}
	// The fix the error gives works, and keeps the identity.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateIdentity(dir)
	if err != nil || got.ID != want.ID {
		t.Fatalf("after chmod 600: %v, %v; want ID %v", got, err, want.ID)
	}
	if err := os.Chmod(path, 0o400); err != nil { // read-only for the owner is fine
		t.Fatal(err)
	}
	if _, err := LoadOrCreateIdentity(dir); err != nil {
		t.Fatalf("mode 0400: %v", err)
	}
}

func TestIdentityBadKeyFile(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256DER, err := x509.MarshalPKCS8PrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		data   []byte
		reason string
	}{
		"empty":       {nil, "no PEM block found"},
		"not PEM":     {[]byte("just some text\n"), "no PEM block found"},
		"certificate": {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}), `PEM block is "CERTIFICATE", want "PRIVATE KEY"`},
		"bad PKCS#8":  {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("junk")}), "bad PKCS#8 key"},
		"ECDSA key":   {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p256DER}), "want an Ed25519 key"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFileName)
			if err := os.WriteFile(path, c.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateIdentity(dir)
			if err == nil {
				t.Fatal("bad key file accepted")
			}
			for _, part := range []string{path, c.reason, "restore it from a backup", "delete it to make a new identity"} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
			// The key file is left alone: it may be restorable.
			if data, _ := os.ReadFile(path); !bytes.Equal(data, c.data) {
				t.Error("bad key file was changed")
			}
		})
	}
}

func TestLoadOrCreateIdentityConcurrentFreshDir(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	ids := make(chan krpc.ID, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			id, err := LoadOrCreateIdentity(dir)
			if err != nil {
				errs <- err
				return
			}
			ids <- id.ID
		}()
	}
	var first krpc.ID
	for i := range n {
		select {
		case err := <-errs:
			t.Fatalf("concurrent create: %v", err)
		case id := <-ids:
			if i == 0 {
				first = id
			} else if id != first {
				t.Fatalf("two processes on one fresh dir got different identities: %s and %s", first, id)
			}
		}
	}
}
