package cli

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A running node, with a real table: a page on another site posts add and
// ping (403, the table stays as it was), and a rebound name reads every
// GET route (421); kadnode's own client still adds.
func TestE2ECrossSiteRequestsAreRefused(t *testing.T) {
	a := spawnNode(t)
	p := spawnNode(t)
	before := len(a.nodes(t))
	for _, path := range []string{"/api/add", "/api/ping"} {
		status, body, _ := send(t, "POST", "http://"+a.api+path+"?contact="+url.QueryEscape(p.contact),
			http.Header{"Origin": {"http://evil.example"}})
		if status != http.StatusForbidden {
			t.Errorf("forged POST %s = %d %s, want 403", path, status, body)
		}
	}
	if a.hasContact(t, p.id, p.listen) || len(a.nodes(t)) != before {
		t.Fatal("a forged add changed the table")
	}
	_, port, _ := strings.Cut(a.api, ":")
	for _, path := range getRoutes {
		if status, body, _ := send(t, "GET", "http://"+a.api+path, http.Header{"Host": {"rebound.evil.example:" + port}}); status != http.StatusMisdirectedRequest {
			t.Errorf("GET %s with a rebound Host = %d %.100s, want 421", path, status, body)
		}
	}
	wantExit(t, runKadnode(t, "", "add", "--api", a.api, p.contact), exitOK)
	if !a.hasContact(t, p.id, p.listen) {
		t.Fatal("kadnode add did not add the contact")
	}
}
