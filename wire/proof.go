package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"errors"
	"fmt"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/pion/dtls/v2"
)

// The client proves its node key inside the session instead of with a
// client certificate: pion v2's server keeps no session for resumption
// when the client presents a certificate (flight4handler.go, citing
// CVE-2016-5419), so with mutual certificates nothing could be resumed.
//
// The proof is the client's Ed25519 public key and its signature over
// keying material exported from this very session (RFC 5705). The export
// mixes the master secret with both hello randoms, so a proof is worth
// nothing on any other session, resumed ones included. The client sends
// it as its first record and in front of every query until the server
// has answered anything, so that a lost datagram does not leave the
// server unable to say whose the session is. The server derives the ID
// from the key exactly as from a certificate, and every message on the
// session is attributed to that ID. On a resumed session the server
// already knows the ID from its ticket (tickets.go): it only checks that
// the proof names the same key.

// ed25519SPKIPrefix is the DER of an Ed25519 SubjectPublicKeyInfo up to
// the key (RFC 8410): the ID is SHA-1 of prefix and key, the same bytes
// IDFromCert hashes.
var ed25519SPKIPrefix = []byte{0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00}

// errNoProof is a first record that does not start with a proof.
var errNoProof = errors.New("the peer's first record carries no identity proof")

// IDFromPublicKey derives a node ID from an Ed25519 public key, the same
// ID as IDFromCert gives for a certificate of that key.
func IDFromPublicKey(pub ed25519.PublicKey) krpc.ID {
	h := sha1.New()
	h.Write(ed25519SPKIPrefix)
	h.Write(pub)
	var id krpc.ID
	h.Sum(id[:0])
	return id
}

// proofKeyingMaterial is what a proof signs: keying material of the
// session st, exported under the proof's own label.
func proofKeyingMaterial(st *dtls.State) ([]byte, error) {
	return st.ExportKeyingMaterial(proofLabel, nil, proofKeyingMaterialLen)
}

// makeProof is the client's proof of key for session st.
func makeProof(key ed25519.PrivateKey, st *dtls.State) ([]byte, error) {
	ekm, err := proofKeyingMaterial(st)
	if err != nil {
		return nil, fmt.Errorf("exporting keying material for the identity proof: %w", err)
	}
	p := make([]byte, 0, proofLen)
	p = append(p, proofMagic...)
	p = append(p, key.Public().(ed25519.PublicKey)...)
	return append(p, ed25519.Sign(key, ekm)...), nil
}

// splitProof splits a record into the proof in front of it and the rest.
// ok is false when the record does not start with the proof's magic.
func splitProof(b []byte) (proof, rest []byte, ok bool) {
	if !bytes.HasPrefix(b, []byte(proofMagic)) {
		return nil, b, false
	}
	if len(b) < proofLen {
		return b, nil, true // too short: checkProof refuses it
	}
	return b[:proofLen], b[proofLen:], true
}

// checkProof verifies a client's proof against ekm, the keying material
// of its session (proofKeyingMaterial), and returns the ID it proves.
func checkProof(proof, ekm []byte) (krpc.ID, error) {
	pub, sig, err := proofParts(proof)
	if err != nil {
		return krpc.ID{}, err
	}
	if !ed25519.Verify(pub, ekm, sig) {
		return krpc.ID{}, errors.New("the peer's identity proof does not verify for this session")
	}
	return IDFromPublicKey(pub), nil
}

// proofKeyID is the ID of the key a proof names, its signature unchecked:
// for a resumed session, whose ID its ticket proved already.
func proofKeyID(proof []byte) (krpc.ID, error) {
	pub, _, err := proofParts(proof)
	if err != nil {
		return krpc.ID{}, err
	}
	return IDFromPublicKey(pub), nil
}

// proofParts splits a proof into the public key and the signature.
func proofParts(proof []byte) (ed25519.PublicKey, []byte, error) {
	if len(proof) != proofLen || !bytes.HasPrefix(proof, []byte(proofMagic)) {
		return nil, nil, fmt.Errorf("identity proof of %d bytes, want %d starting %q", len(proof), proofLen, proofMagic)
	}
	k := len(proofMagic) + ed25519.PublicKeySize
	return ed25519.PublicKey(proof[len(proofMagic):k]), proof[k:], nil
}

// ProveIdentity sends the identity proof of id as the first record of c,
// a client session made with pion directly (tools and tests that speak
// raw DTLS to a node); a Transport's sessions do this themselves. A node
// serves nothing on a session before its proof.
func ProveIdentity(c *dtls.Conn, id *Identity) error {
	st := c.ConnectionState()
	proof, err := makeProof(id.Key, &st)
	if err != nil {
		return err
	}
	_, err = c.Write(proof)
	return err
}
