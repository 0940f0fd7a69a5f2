package wire

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
)

// Identity is a node's long-term key, the self-signed certificate made from
// it, and the node ID derived from that certificate.
type Identity struct {
	Key  ed25519.PrivateKey
	Cert tls.Certificate
	ID   krpc.ID
}

// NewIdentity makes a fresh identity that lives only in memory (read-only
// lookup clients, tests).
func NewIdentity() (*Identity, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return identityFromKey(key)
}

// LoadOrCreateIdentity reads the node key from dir, creating it (mode 0600)
// on first use.
func LoadOrCreateIdentity(dir string) (*Identity, error) {
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return createIdentity(dir, path)
	case err != nil:
		return nil, fmt.Errorf("reading node key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("node key %s has mode %04o, so other users can read it; "+
			"run `chmod 600 %s` (or delete it to make a new identity)", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading node key: %w", err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("node key %s is not usable: %v; restore it from a backup, "+
			"or delete it to make a new identity (the node ID will change)", path, err)
	}
	return identityFromKey(key)
}

func createIdentity(dir, path string) (*Identity, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	id, err := NewIdentity()
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	// Write a complete temporary file, then hard-link it into place: a
	// reader never sees half a key, and a process that loses a race for a
	// fresh dir adopts the winner's key instead of overwriting it.
	tmp, err := os.CreateTemp(dir, KeyFileName+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing node key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeAndSync(tmp, data); err != nil {
		return nil, fmt.Errorf("writing node key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadOrCreateIdentity(dir)
		}
		return nil, fmt.Errorf("writing node key: %w", err)
	}
	return id, nil
}

func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func parseKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\"", block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("bad PKCS#8 key: %v", err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want an Ed25519 key", k)
	}
	return key, nil
}

func identityFromKey(key ed25519.PrivateKey) (*Identity, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kadnode"},
		// A fixed, wide validity window: peers are identified by key, not by
		// certificate dates, and clock skew must not break handshakes.
		NotBefore: time.Unix(0, 0).UTC(),
		NotAfter:  time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("making certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Identity{
		Key:  key,
		Cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		ID:   IDFromCert(cert),
	}, nil
}

// IDFromCert derives a node ID from a certificate: SHA-1 of its
// SubjectPublicKeyInfo, so an ID can only be chosen by making a new key.
func IDFromCert(c *x509.Certificate) krpc.ID {
	return sha1.Sum(c.RawSubjectPublicKeyInfo)
}
