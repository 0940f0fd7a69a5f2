package wire

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
)

// proofVector is a proof made by the key with the all-zero seed over
// proofVectorEKM, and the ID it proves.
var (
	proofVectorEKM = []byte("0123456789abcdef0123456789abcdef")
	proofVectorID  = "fc907b627d84b3e73585dc214f0db6152afd1f85"
	proofVectorSig = "1d98d7cfd96831860c3b0f815a527d94734227bd66db8bac7bcd82f7b9bcb529" +
		"f564bcc1df9405206abcc309fe165b4ed942ce04bf5e83b14d22e9dc6b866a0e"
)

func vectorProof(t testing.TB) []byte {
	t.Helper()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	sig, err := hex.DecodeString(proofVectorSig)
	if err != nil {
		t.Fatal(err)
	}
	p := append([]byte(proofMagic), key.Public().(ed25519.PublicKey)...)
	return append(p, sig...)
}

func TestProofVector(t *testing.T) {
	proof := vectorProof(t)
	id, err := checkProof(proof, proofVectorEKM)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(id[:]); got != proofVectorID {
		t.Fatalf("proof proves %s, want %s", got, proofVectorID)
	}
	other := bytes.Clone(proofVectorEKM)
	other[0] ^= 1
	if _, err := checkProof(proof, other); err == nil {
		t.Fatal("the proof verified for other keying material")
	}
	for _, bad := range [][]byte{nil, proof[:proofLen-1], append(bytes.Clone(proof), 0), append([]byte("kadQ"), proof[4:]...)} {
		if _, err := checkProof(bad, proofVectorEKM); err == nil {
			t.Errorf("checkProof accepted %q", bad)
		}
	}
}

// The ID a proof gives is the ID the node's certificate gives.
func TestIDFromPublicKeyMatchesCertificate(t *testing.T) {
	id, err := NewIdentity()
	if err != nil {
		t.Fatal(err)
	}
	if got := IDFromPublicKey(id.Key.Public().(ed25519.PublicKey)); got != id.ID {
		t.Fatalf("IDFromPublicKey %s, certificate %s", idHex(got), idHex(id.ID))
	}
}

// FuzzCheckProof feeds the server's reading of a first record arbitrary
// bytes: it never panics, and whatever it accepts is a whole proof whose
// signature verifies for the keying material and whose ID is its key's.
func FuzzCheckProof(f *testing.F) {
	proof := vectorProof(f)
	f.Add(proof)
	f.Add(append(bytes.Clone(proof), []byte("d1:ad2:id20:")...))
	f.Add([]byte(proofMagic))
	f.Add([]byte("d1:y1:qe"))
	f.Fuzz(func(t *testing.T, record []byte) {
		p, rest, ok := splitProof(record)
		if !ok {
			if !bytes.Equal(rest, record) {
				t.Fatal("a record without proof was changed")
			}
			return
		}
		id, err := checkProof(p, proofVectorEKM)
		if err != nil {
			return
		}
		pub := ed25519.PublicKey(p[len(proofMagic) : len(proofMagic)+ed25519.PublicKeySize])
		if !ed25519.Verify(pub, proofVectorEKM, p[len(proofMagic)+ed25519.PublicKeySize:]) || id != IDFromPublicKey(pub) {
			t.Fatalf("accepted a proof that does not verify: %x", p)
		}
		if len(p)+len(rest) != len(record) {
			t.Fatal("split lost bytes")
		}
	})
}
