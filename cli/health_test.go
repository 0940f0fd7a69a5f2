package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kadnode/kadnode/kad"
)

var errFakeDiskFull = fmt.Errorf("store check of /data/table failed: the file system is full: %w", kad.ErrStoreFailed)

func TestHealthzNeedsNoToken(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), testToken)
	status, body := request(t, "GET", "http://"+addr+"/healthz", "")
	if status != http.StatusOK || !strings.Contains(body, `"status": "ok"`) {
		t.Fatalf("GET /healthz = %d %s", status, body)
	}
	if status, body := request(t, "GET", "http://"+addr+"/readyz", ""); status != http.StatusOK {
		t.Fatalf("GET /readyz = %d %s", status, body)
	}
}

func TestReadyzSaysWhy(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	rd := readyz(t, addr, http.StatusOK)
	for _, name := range []string{checkJoined, checkSocket, checkStore} {
		if c, ok := rd.Checks[name]; !ok || !c.OK {
			t.Errorf("check %s of a ready node = %+v", name, c)
		}
	}

	fn.self.Joined = false
	fn.mu.Lock()
	fn.storeErr = errFakeDiskFull
	fn.mu.Unlock()
	rd = readyz(t, addr, http.StatusServiceUnavailable)
	if rd.Ready || rd.Checks[checkStore].OK || !strings.Contains(rd.Checks[checkStore].Reason, "the file system is full") ||
		rd.Checks[checkStore].Since.IsZero() {
		t.Errorf("store check with a failed store = %+v", rd.Checks[checkStore])
	}
	if rd.Checks[checkJoined].OK || !strings.Contains(rd.Checks[checkJoined].Reason, "joining") {
		t.Errorf("joined check of a joining node = %+v", rd.Checks[checkJoined])
	}
	if !rd.Checks[checkSocket].OK {
		t.Errorf("socket check = %+v", rd.Checks[checkSocket])
	}
}

// With the store failed, an added contact is in memory only: the answer
// says so, `kadnode add` warns and exits 1, the status page and the
// metrics show it.
func TestFailedStoreIsReported(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	contact := fn.nodes[0].ID.String() + "@" + fn.nodes[0].Addr.String()
	var out peerJSON
	r := runCLI(t, "add", "--api", addr, "--json", contact)
	wantExit(t, r, exitOK)
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Persisted == nil || !*out.Persisted {
		t.Fatalf("add with a healthy store: %v %s", err, r.stdout)
	}

	fn.mu.Lock()
	fn.storeErr = errFakeDiskFull
	fn.mu.Unlock()
	r = runCLI(t, "add", "--api", addr, "--json", contact)
	wantExit(t, r, exitFailure, "warning:", "was not saved", "the file system is full")
	out = peerJSON{}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Persisted == nil || *out.Persisted ||
		!strings.Contains(out.Warning, "in memory only") {
		t.Fatalf("add --json with a failed store: %v %s", err, r.stdout)
	}
	r = runCLI(t, "add", "--api", addr, contact)
	wantExit(t, r, exitFailure, "was not saved")
	if !strings.Contains(r.stdout, "added ") {
		t.Errorf("add printed %q, want the contact it added", r.stdout)
	}

	_, page := request(t, "GET", "http://"+addr+"/", "")
	for _, want := range []string{"Routing table not saved", "7 table changes are in memory only", "not ready", "the file system is full"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	_, metrics := request(t, "GET", "http://"+addr+"/metrics", "")
	for _, want := range []string{"kadnode_store_writable 0", "kadnode_store_failures_total 1", "kadnode_store_unsaved_changes_total 7"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func readyz(t *testing.T, addr string, want int) readyJSON {
	t.Helper()
	status, body := request(t, "GET", "http://"+addr+"/readyz", "")
	if status != want {
		t.Fatalf("GET /readyz = %d %s, want %d", status, body, want)
	}
	var rd readyJSON
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatalf("/readyz is not JSON: %v\n%s", err, body)
	}
	return rd
}
