package cli

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testToken = "kadnode-test-token-0123456789"

func TestShortTokenIsRefusedAtStart(t *testing.T) {
	for _, args := range [][]string{
		{"--api-token", "s3cret"},
		{"--api-token-file", writeToken(t, "0123456789abcde\n")}, // 15 bytes
	} {
		r := runCLI(t, append([]string{"run", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--api", "127.0.0.1:0"}, args...)...)
		wantExit(t, r, exitUsage, "it needs at least 16", "head -c 32 /dev/urandom")
	}
	r := runCLI(t, "run", "--data-dir", t.TempDir(), "--api-token", testToken, "--api-token-file", writeToken(t, testToken))
	wantExit(t, r, exitUsage, "give one of them")
	r = runCLI(t, "run", "--data-dir", t.TempDir(), "--api-token-file", filepath.Join(t.TempDir(), "absent"))
	wantExit(t, r, exitUsage, "cannot read --api-token-file")
	r = runCLI(t, "run", "--data-dir", t.TempDir(), "--api-token-file", writeToken(t, " \n"))
	wantExit(t, r, exitUsage, "is empty")
}

// The clients read the token from a file, by flag or environment, so it
// never shows in ps.
func TestTokenFileIsRead(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), testToken)
	file := writeToken(t, testToken+"\n")
	wantExit(t, runCLI(t, "nodes", "--api", addr, "--api-token-file", file), exitOK)
	t.Setenv("KADNODE_API_TOKEN_FILE", file)
	wantExit(t, runCLI(t, "nodes", "--api", addr), exitOK)
	t.Setenv("KADNODE_API_TOKEN_FILE", writeToken(t, "another-token-of-enough-length"))
	wantExit(t, runCLI(t, "nodes", "--api", addr), exitUsage, "refused the request")
}

// Wrong tokens from one address: authFailureBurst are answered 401, then
// the address gets 429 without its token being checked (the right one
// too) until authRetryInterval passes, which buys it one more try. Another
// address is not held up. The clock is the test's, so the limit shows
// without timing.
func TestTokenGuessingIsSlowed(t *testing.T) {
	fn := newFakeNode(time.Now())
	var mu sync.Mutex
	now := time.Now()
	api := &controlAPI{node: fn, network: "kadnode", token: testToken, log: discardLogger(),
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }}
	srv := httptest.NewServer(api.routes())
	t.Cleanup(srv.Close)
	url := srv.URL + "/api/self"
	bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

	for i := range authFailureBurst {
		if status, _ := request(t, "GET", url, "guess-"+string(rune('a'+i))); status != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d, want 401", i, status)
		}
	}
	status, body, resp := send(t, "GET", url, bearer("one-guess-too-many"))
	if status != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" || !strings.Contains(body, "too many wrong tokens") {
		t.Fatalf("guess past the burst = %d %q (Retry-After %q), want 429", status, body, resp.Header.Get("Retry-After"))
	}
	if status, _ := request(t, "GET", url, testToken); status != http.StatusTooManyRequests {
		t.Fatalf("right token while slowed down = %d, want 429 (the token must not be checked)", status)
	}

	// Another client address (127.0.0.2) is not held up by the first.
	other := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
			return d.DialContext(ctx, network, addr)
		}}}
	if status, _, _ := sendWith(t, other, "GET", url, bearer(testToken)); status != http.StatusOK {
		t.Fatalf("another address with the right token = %d, want 200", status)
	}

	mu.Lock()
	now = now.Add(authRetryInterval)
	mu.Unlock()
	if status, _ := request(t, "GET", url, "guess-after-the-wait"); status != http.StatusUnauthorized {
		t.Fatalf("a guess after the wait = %d, want 401 (one more try)", status)
	}
	if status, _ := request(t, "GET", url, testToken); status != http.StatusTooManyRequests {
		t.Fatalf("a second try in the same interval = %d, want 429", status)
	}
	mu.Lock()
	now = now.Add(authRetryInterval)
	mu.Unlock()
	if status, _ := request(t, "GET", url, testToken); status != http.StatusOK {
		t.Fatalf("the right token after the wait = %d, want 200", status)
	}
}

// The browser's way to send the token to the status page: HTTP Basic
// with the token as password.
func TestTokenAsBasicPassword(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), testToken)
	req, err := http.NewRequestWithContext(t.Context(), "GET", "http://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("kadnode", testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status page with the token as Basic password = %d", resp.StatusCode)
	}
	status, _, resp := send(t, "GET", "http://"+addr+"/", nil)
	if status != http.StatusUnauthorized || !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), ","), "Basic") {
		t.Fatalf("status page without a token = %d, WWW-Authenticate %q; want 401 with a Basic challenge",
			status, resp.Header.Values("WWW-Authenticate"))
	}
}

// writeToken writes a token file readable by its owner only.
func writeToken(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// The failure counts are bounded: past maxAuthClients addresses, those
// whose bucket has refilled are forgotten, and if none has, newcomers
// share one bucket, so a spray of addresses cannot grow the map.
func TestAuthLimiterIsBounded(t *testing.T) {
	l := newAuthLimiter()
	now := time.Now()
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range maxAuthClients + 100 {
		for range authFailureBurst {
			l.failed(addr(i), now)
		}
	}
	if len(l.m) != maxAuthClients+1 {
		t.Fatalf("%d addresses counted, want at most %d plus the shared one", len(l.m), maxAuthClients)
	}
	if l.wait(addr(maxAuthClients+50), now) == 0 {
		t.Error("an address past the bound is not slowed down by the shared count")
	}
	later := now.Add(authFailureBurst * authRetryInterval)
	if l.wait(addr(maxAuthClients+200), later) != 0 {
		t.Error("a new address is slowed down once the others' counts refilled")
	}
	l.failed(addr(maxAuthClients+200), later)
	if len(l.m) > 2 {
		t.Errorf("%d addresses still counted after all refilled, want the refilled ones forgotten", len(l.m))
	}
}
