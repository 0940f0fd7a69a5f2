//go:build linux

package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// remoteLink is a network namespace joined to this one by a veth pair:
// the test's own stand-in for another machine on the LAN. Host is the
// address of this side, Peer the namespace's.
type remoteLink struct {
	ns         string
	host, peer netip.Addr
}

// newRemoteLink makes the namespace and the link, removed at the end of
// the test, or skips the test where it cannot (it needs root).
func newRemoteLink(t *testing.T) *remoteLink {
	t.Helper()
	n, err := rand.Int(rand.Reader, big.NewInt(1<<12))
	if err != nil {
		t.Fatal(err)
	}
	i := int(n.Int64())
	l := &remoteLink{
		ns:   fmt.Sprintf("kn-ops-api%d", i),
		host: netip.AddrFrom4([4]byte{10, 213, byte(i >> 4), byte(i&15)<<4 | 1}),
		peer: netip.AddrFrom4([4]byte{10, 213, byte(i >> 4), byte(i&15)<<4 | 2}),
	}
	hostIf, nsIf := fmt.Sprintf("kn-ops-h%d", i), fmt.Sprintf("kn-ops-n%d", i)
	if out, err := exec.Command("ip", "netns", "add", l.ns).CombinedOutput(); err != nil {
		t.Skipf("cannot make a network namespace (%v %s); the remote API test needs root", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", l.ns).CombinedOutput(); err != nil {
			t.Errorf("removing namespace %s: %v %s", l.ns, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "add", hostIf, "type", "veth", "peer", "name", nsIf, "netns", l.ns},
		{"addr", "add", l.host.String() + "/28", "dev", hostIf},
		{"link", "set", hostIf, "up"},
		{"-n", l.ns, "addr", "add", l.peer.String() + "/28", "dev", nsIf},
		{"-n", l.ns, "link", "set", nsIf, "up"},
		{"-n", l.ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	return l
}

// freeTCPOn returns host:port with a port of addr that was free a moment ago.
func freeTCPOn(t *testing.T, addr netip.Addr) string {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// selfSignedCert writes a certificate for ip and its key as PEM files.
func selfSignedCert(t *testing.T, ip netip.Addr) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kadnode control API"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{ip.AsSlice()},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
