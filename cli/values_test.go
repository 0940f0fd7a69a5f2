package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// put and get through the control API and standalone, immutable and
// mutable, with the key file, seq, cas and their errors.
func TestE2EPutGet(t *testing.T) {
	seed := spawnNode(t)
	a := spawnNode(t, "--seed", seed.contact)
	b := spawnNode(t, "--seed", seed.contact)
	a.waitJoined(t)
	b.waitJoined(t)

	var put putJSON
	runJSON(t, &put, "put", "hello world", "--api", a.api, "--json")
	if len(put.Target) != 40 || put.Stored < 2 {
		t.Fatalf("immutable put = %+v", put)
	}
	var got itemJSON
	runJSON(t, &got, "get", put.Target, "--api", b.api, "--json")
	if !got.Found || got.Value != "hello world" || got.Holders == 0 {
		t.Fatalf("get through B = %+v", got)
	}
	r := runKadnode(t, "", "get", put.Target, "--seed", seed.contact, "--network", e2eNetwork)
	wantExit(t, r, exitOK)
	if r.stdout != "hello world\n" {
		t.Fatalf("standalone get printed %q", r.stdout)
	}

	key := filepath.Join(t.TempDir(), "item.key")
	runJSON(t, &put, "put", "v1", "--key-file", key, "--salt", "name", "--api", a.api, "--json")
	if put.Seq != 0 || put.Stored < 2 {
		t.Fatalf("first mutable put = %+v", put)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode().Perm())
	}
	target := put.Target
	runJSON(t, &put, "put", "v2", "--key-file", key, "--salt", "name", "--api", b.api, "--json")
	if put.Seq != 1 || put.Target != target {
		t.Fatalf("second mutable put = %+v, want seq 1 at %s", put, target)
	}
	runJSON(t, &got, "get", target, "--salt", "name", "--api", a.api, "--json")
	if !got.Found || got.Value != "v2" || got.Seq != 1 || len(got.Key) != 64 || len(got.Sig) != 128 {
		t.Fatalf("mutable get = %+v", got)
	}
	// A stale cas is refused by every holder: the put fails, saying why.
	r = runKadnode(t, "", "put", "v3", "--key-file", key, "--salt", "name", "--cas", "7", "--api", a.api)
	wantExit(t, r, exitFailure, "301")
	runJSON(t, &put, "put", "v3", "--key-file", key, "--salt", "name", "--cas", "1", "--api", a.api, "--json")
	if put.Seq != 2 || put.Stored < 2 {
		t.Fatalf("put with the right cas = %+v", put)
	}

	// Usage errors.
	wantExit(t, runKadnode(t, "", "put", "x", "--salt", "s", "--api", a.api), exitUsage, "--key-file")
	wantExit(t, runKadnode(t, "", "put", strings.Repeat("x", 1000), "--api", a.api), exitUsage, "over BEP 44's 1000")
	wantExit(t, runKadnode(t, "", "get", "nothex", "--api", a.api), exitUsage)
	r = runKadnode(t, "", "get", strings.Repeat("ab", 20), "--api", a.api)
	wantExit(t, r, exitFailure, "no item found")

	// The metrics count what the nodes served.
	_, metrics := request(t, "GET", "http://"+a.api+"/metrics", "")
	for _, m := range []string{"kadnode_items_held", "kadnode_item_puts_served_total", "kadnode_item_gets_served_total"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if !strings.Contains(metrics, `kadnode_rpcs_in_total{method="put",outcome="ok"}`) {
		t.Error("/metrics counts no put")
	}
	_, page := request(t, "GET", "http://"+a.api+"/", "")
	if !strings.Contains(page, "<h2>Values</h2>") || !strings.Contains(page, "items held for others") {
		t.Error("the status page has no values panel")
	}
	if _, page := request(t, "GET", "http://"+b.api+"/", ""); !strings.Contains(page, "cas_mismatch 1") {
		t.Error("B's status page does not show the put it refused for its cas")
	}
}
