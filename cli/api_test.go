package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kadnode/kadnode/node"
)

// The client commands below run in-process against the real control API
// handlers, which serve a fake node.

func TestNodesJSONThroughAPI(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	r := runCLI(t, "nodes", "--api", addr, "--json")
	wantExit(t, r, exitOK)
	var got []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("nodes --json is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(got) != len(fn.nodes) {
		t.Fatalf("got %d nodes, want %d", len(got), len(fn.nodes))
	}
	for _, field := range []string{"id", "addr", "bucket", "last_seen", "state"} {
		if _, ok := got[0][field]; !ok {
			t.Errorf("node lacks field %q: %v", field, got[0])
		}
	}
	if got[2]["id"] != fn.nodes[2].ID.String() || got[2]["addr"] != "127.0.0.1:4203" || got[2]["state"] != "replacement" {
		t.Errorf("third node = %v", got[2])
	}
}

func TestNodesTextThroughAPI(t *testing.T) {
	fn := newFakeNode(time.Now())
	r := runCLI(t, "nodes", "--api", startFakeAPI(t, fn, ""))
	wantExit(t, r, exitOK)
	for _, want := range []string{"ID", "LAST SEEN", fn.nodes[0].ID.String(), "127.0.0.1:4201", "replacement"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("nodes output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestLookupJSONThroughAPI(t *testing.T) {
	fn := newFakeNode(time.Now())
	target := fn.lookup.Target.String()
	r := runCLI(t, "lookup", target, "--api", startFakeAPI(t, fn, ""), "--json")
	wantExit(t, r, exitOK)
	var got struct {
		Target  string `json:"target"`
		Found   bool   `json:"found"`
		Addr    string `json:"addr"`
		Closest []struct {
			ID    string  `json:"id"`
			Addr  string  `json:"addr"`
			RTTMs float64 `json:"rtt_ms"`
		} `json:"closest"`
		Stats map[string]float64 `json:"stats"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("lookup --json: %v\n%s", err, r.stdout)
	}
	if got.Target != target || !got.Found || got.Addr != "127.0.0.1:4201" {
		t.Errorf("lookup = %+v", got)
	}
	if len(got.Closest) != 2 || got.Closest[0].RTTMs != 1.5 || got.Closest[1].Addr != "127.0.0.1:4204" {
		t.Errorf("closest = %+v", got.Closest)
	}
	want := map[string]float64{"queries": 6, "responses": 5, "timeouts": 1, "rounds": 2, "duration_ms": 12}
	for k, v := range want {
		if got.Stats[k] != v {
			t.Errorf("stats[%s] = %v, want %v", k, got.Stats[k], v)
		}
	}
	if len(fn.targets) != 1 || fn.targets[0] != fn.lookup.Target {
		t.Errorf("node was asked for %v", fn.targets)
	}
}

func TestLookupTextAndNotFound(t *testing.T) {
	fn := newFakeNode(time.Now())
	fn.lookup.Found = false
	target := testID(0x55).String()
	r := runCLI(t, "lookup", target, "--api", startFakeAPI(t, fn, ""))
	wantExit(t, r, exitOK) // the lookup ran; "not found" is its answer
	for _, want := range []string{"not found: " + target, "2 closest:", "BUCKET", "1.5 ms", "6 queries, 5 responses, 1 timeouts, 2 rounds"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestLookupWithoutAnswersExits1(t *testing.T) {
	fn := newFakeNode(time.Now())
	fn.lookup.Found, fn.lookup.Closest = false, nil
	fn.lookup.Stats = node.LookupStats{Queries: 3, Timeouts: 3}
	target := testID(0x55).String()
	r := runCLI(t, "lookup", target, "--api", startFakeAPI(t, fn, ""), "--json")
	wantExit(t, r, exitFailure, "lookup of "+target+" failed: none of its 3 queries was answered (3 timed out)")
	if r.stdout != "" {
		t.Errorf("a failed lookup printed %q", r.stdout)
	}
}

func TestLookupFailureExits1(t *testing.T) {
	fn := newFakeNode(time.Now())
	fn.lookupErr = errFakeUnreachable
	r := runCLI(t, "lookup", testID(0x55).String(), "--api", startFakeAPI(t, fn, ""))
	wantExit(t, r, exitFailure, "lookup of "+testID(0x55).String()+" failed", errFakeUnreachable.Error())
}

func TestPingAndAddThroughAPI(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	contact := fn.peer.ID.String() + "@127.0.0.1:4201"

	r := runCLI(t, "ping", contact, "--api", addr)
	wantExit(t, r, exitOK)
	if want := fn.peer.ID.String() + " answered from 127.0.0.1:4201 in 1.2 ms"; !strings.Contains(r.stdout, want) {
		t.Errorf("ping printed %q, want %q", r.stdout, want)
	}

	r = runCLI(t, "add", contact, "--api", addr, "--json")
	wantExit(t, r, exitOK)
	var got peerJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Contact != contact || got.State != "bucket" {
		t.Errorf("add = %+v", got)
	}
	if len(fn.pinged) != 1 || len(fn.added) != 1 || fn.added[0].String() != contact {
		t.Errorf("node saw pings %v, adds %v", fn.pinged, fn.added)
	}

	fn.pingErr = errFakeUnreachable
	wantExit(t, runCLI(t, "add", contact, "--api", addr), exitFailure, "add of "+contact+" failed")
}

func TestAPIRejectsBadInput(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), "")
	for _, tc := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/api/lookup?target=xyz", 400, `bad node ID \"xyz\"`},
		{"GET", "/api/lookup", 400, "no target ID given"},
		{"POST", "/api/ping?contact=nope", 400, `bad contact \"nope\"`},
		{"POST", "/api/add", 400, "no contact given"},
		{"GET", "/api/ping?contact=127.0.0.1:1", 405, ""},
		{"GET", "/api/nosuch", 404, ""},
	} {
		status, body := request(t, tc.method, "http://"+addr+tc.path, "")
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, status, body, tc.status, tc.want)
		}
	}
}

func TestAPITokenIsRequiredWhenSet(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "s3cret")
	for _, path := range []string{"/api/self", "/metrics", "/"} {
		if status, _ := request(t, "GET", "http://"+addr+path, ""); status != http.StatusUnauthorized {
			t.Errorf("GET %s without token = %d, want 401", path, status)
		}
		if status, _ := request(t, "GET", "http://"+addr+path, "wrong"); status != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token = %d, want 401", path, status)
		}
		if status, _ := request(t, "GET", "http://"+addr+path, "s3cret"); status != http.StatusOK {
			t.Errorf("GET %s with the token = %d, want 200", path, status)
		}
	}
	wantExit(t, runCLI(t, "nodes", "--api", addr), exitUsage, "refused the request", "--api-token")
	wantExit(t, runCLI(t, "nodes", "--api", addr, "--api-token", "s3cret"), exitOK)
}

func TestSelfAndIDJSON(t *testing.T) {
	fn := newFakeNode(time.Now())
	addr := startFakeAPI(t, fn, "")
	_, body := request(t, "GET", "http://"+addr+"/api/self", "")
	var self selfJSON
	if err := json.Unmarshal([]byte(body), &self); err != nil {
		t.Fatal(err)
	}
	if self.ID != fn.self.ID.String() || self.Contact != fn.self.Contact || self.Listen != "127.0.0.1:4114" ||
		self.UptimeS != 5400 || !self.Joined || self.Network != "kadnode" {
		t.Errorf("self = %+v", self)
	}

	// id --json adds the contact only when the API's node has the same key.
	r := runCLI(t, "id", "--data-dir", t.TempDir(), "--json", "--api", addr)
	wantExit(t, r, exitOK)
	var id selfJSON
	if err := json.Unmarshal([]byte(r.stdout), &id); err != nil {
		t.Fatal(err)
	}
	if len(id.ID) != 40 || id.ID == self.ID || id.Contact != "" {
		t.Errorf("id --json for another key = %+v", id)
	}
}

func TestAPIClientRejectsForeignServer(t *testing.T) {
	addr := startFakeAPI(t, newFakeNode(time.Now()), "")
	// "/" is HTML, not the JSON the client expects from an API path.
	api := &apiClient{addr: addr, http: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	var v selfJSON
	err := api.call(t.Context(), "GET", "/", nil, &v)
	if err == nil || !strings.Contains(err.Error(), "is --api pointing at a kadnode?") {
		t.Errorf("HTML answer gave %v", err)
	}
}

// request sends one request with an optional bearer token and returns the
// status and body.
func request(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	status, body, _ := send(t, method, url, h)
	return status, body
}

// send sends one request with headers h ("Host" sets the Host) and returns
// the status, the body and the response.
func send(t *testing.T, method, url string, h http.Header) (int, string, *http.Response) {
	t.Helper()
	return sendWith(t, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, method, url, h)
}

func sendWith(t *testing.T, client *http.Client, method, url string, h http.Header) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		if k == "Host" {
			req.Host = v[0]
			continue
		}
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp
}
