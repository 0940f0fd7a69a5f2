//go:build linux

package cli

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// An API on a LAN address, with a token file and TLS: the client commands
// and a browser on another host (a network namespace across a veth link)
// reach it over HTTPS with the token; without the token, without TLS or
// with a wrong certificate they are refused.
func TestE2ERemoteAPIOverTLS(t *testing.T) {
	kadnodeBinary(t)
	link := newRemoteLink(t)
	cert, key := selfSignedCert(t, link.host)
	tokenFile := writeToken(t, testToken+"\n")
	a := &daemonProc{t: t, listen: freeUDPAddr(t), api: freeTCPOn(t, link.host), dataDir: t.TempDir(), logs: &syncBuffer{}}
	a.start(t, []string{"run", "--listen", a.listen, "--api", a.api, "--data-dir", a.dataDir, "--network", e2eNetwork,
		"--api-token-file", tokenFile, "--api-tls-cert", cert, "--api-tls-key", key})
	peer := spawnNode(t)
	remote := []string{"ip", "netns", "exec", link.ns}
	auth := []string{"--api", a.api, "--api-token-file", tokenFile, "--api-tls-cert", cert}

	r := runKadnodeVia(t, remote, "", append([]string{"add", "--json", peer.contact}, auth...)...)
	wantExit(t, r, exitOK)
	var added peerJSON
	if err := json.Unmarshal([]byte(r.stdout), &added); err != nil || added.Persisted == nil || !*added.Persisted {
		t.Fatalf("add over TLS answered %s (%v)", r.stdout, err)
	}
	var nodes []nodeJSON
	r = runKadnodeVia(t, remote, "", append([]string{"nodes", "--json"}, auth...)...)
	wantExit(t, r, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &nodes); err != nil || len(nodes) != 1 || nodes[0].ID != peer.id {
		t.Fatalf("nodes over TLS = %s (%v), want the added peer", r.stdout, err)
	}

	wantExit(t, runKadnodeVia(t, remote, "", "nodes", "--api", a.api, "--api-tls-cert", cert), exitUsage, "refused the request")
	r = runKadnodeVia(t, remote, "", "nodes", "--api", a.api, "--api-token-file", tokenFile) // plain HTTP
	if r.code == exitOK {
		t.Errorf("plain HTTP to the TLS API succeeded:\n%s", r.stdout)
	}
	otherCert, _ := selfSignedCert(t, link.host)
	r = runKadnodeVia(t, remote, "", "nodes", "--api", a.api, "--api-token-file", tokenFile, "--api-tls-cert", otherCert)
	if r.code == exitOK || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("a client trusting another certificate got exit %d: %s", r.code, r.stderr)
	}

	browser := findChromium()
	if browser == "" {
		t.Log("chromium is not installed; the status page over TLS is not checked")
		return
	}
	// A browser sends the token as the password of HTTP Basic.
	page := url.URL{Scheme: "https", User: url.UserPassword("kadnode", testToken), Host: a.api, Path: "/"}
	dom := runChromiumVia(t, remote, browser, t.TempDir(), "--ignore-certificate-errors", "--dump-dom", page.String())
	if !strings.Contains(dom, a.id) || !strings.Contains(dom, peer.id) || !strings.Contains(dom, `id="buckets"`) {
		t.Errorf("the status page over TLS lacks the node, its peer or the chart:\n%.2000s", dom)
	}
	page.User = nil
	dom = runChromiumVia(t, remote, browser, t.TempDir(), "--ignore-certificate-errors", "--dump-dom", page.String())
	if strings.Contains(dom, a.id) {
		t.Error("the status page over TLS was shown without the token")
	}
}
