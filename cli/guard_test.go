package cli

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// getRoutes are every GET route of the control API, with a valid query.
var getRoutes = []string{
	"/api/self", "/api/nodes", "/api/lookup?target=" + testID(0x91).String(),
	"/metrics", "/", "/healthz", "/readyz",
}

// A page on another site posts to the loopback API: the node must not add
// or ping anything, whichever way the browser marks the request.
func TestForgedOriginIsRefused(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	contact := url.QueryEscape(fn.nodes[0].ID.String() + "@" + fn.nodes[0].Addr.String())
	for _, path := range []string{"/api/add", "/api/ping"} {
		for _, h := range []http.Header{
			{"Origin": {"http://evil.example"}},
			{"Origin": {"null"}},
			{"Origin": {"https://" + addr}}, // right host, wrong scheme
			{"Sec-Fetch-Site": {"cross-site"}},
		} {
			status, body, resp := send(t, "POST", "http://"+addr+path+"?contact="+contact, h)
			if status != http.StatusForbidden || !strings.Contains(body, "cross-site") {
				t.Errorf("POST %s with %v = %d %s, want 403", path, h, status, body)
			}
			noCORS(t, resp)
		}
	}
	fn.mu.Lock()
	added, pinged := len(fn.added), len(fn.pinged)
	fn.mu.Unlock()
	if added != 0 || pinged != 0 {
		t.Fatalf("cross-site posts reached the node: %d adds, %d pings", added, pinged)
	}
	// The API's own origin, and kadnode's own client (no Origin), work.
	if status, body, _ := send(t, "POST", "http://"+addr+"/api/add?contact="+contact,
		http.Header{"Origin": {"http://" + addr}, "Sec-Fetch-Site": {"same-origin"}}); status != http.StatusOK {
		t.Errorf("same-origin POST /api/add = %d %s", status, body)
	}
	wantExit(t, runCLI(t, "add", "--api", addr, fn.nodes[0].ID.String()+"@"+fn.nodes[0].Addr.String()), exitOK)
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if len(fn.added) != 2 {
		t.Errorf("same-origin adds reached the node %d times, want 2", len(fn.added))
	}
}

// DNS rebinding: a name the attacker controls now points at loopback, so
// the browser sends its requests, with that name as Host, to the API.
func TestForgedHostIsRefusedOnEveryRoute(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), "")
	_, port, _ := strings.Cut(addr, ":")
	for _, path := range getRoutes {
		for _, host := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example", "203.0.113.7:" + port, "localhost.evil.example"} {
			status, body, resp := send(t, "GET", "http://"+addr+path, http.Header{"Host": {host}})
			if status != http.StatusMisdirectedRequest || !strings.Contains(body, "not this control API's address") {
				t.Errorf("GET %s with Host %s = %d %.80s, want 421", path, host, status, body)
			}
			noCORS(t, resp)
		}
		for _, host := range []string{addr, "localhost:" + port, "LOCALHOST", "node.localhost:" + port, "[::1]:" + port} {
			if status, body, _ := send(t, "GET", "http://"+addr+path, http.Header{"Host": {host}}); status != http.StatusOK {
				t.Errorf("GET %s with Host %s = %d %.80s, want 200", path, host, status, body)
			}
		}
	}
}

// A preflight gets no CORS approval either.
func TestNoCORSHeaders(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), "")
	_, _, resp := send(t, "OPTIONS", "http://"+addr+"/api/add", http.Header{
		"Origin": {"http://evil.example"}, "Access-Control-Request-Method": {"POST"}})
	noCORS(t, resp)
}

func noCORS(t *testing.T, resp *http.Response) {
	t.Helper()
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("answer carries CORS header %s: %v", k, resp.Header[k])
		}
	}
}
