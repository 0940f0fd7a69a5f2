package cli

import (
	"encoding/json"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestE2EThreeNodes runs a seed and two nodes as real processes and drives
// them with the client commands, as an operator or a script would.
func TestE2EThreeNodes(t *testing.T) {
	seed := spawnNode(t)
	a := spawnNode(t, "--seed", seed.contact)
	b := spawnNode(t, "--seed", seed.contact, "--log-format", "json")
	a.waitJoined(t)
	b.waitJoined(t)

	// The seed learnt A's listening address from A's own queries.
	waitFor(t, "the seed's table to list A", func() bool { return seed.hasContact(t, a.id, a.listen) })
	for _, n := range seed.nodes(t) {
		if n.ID == a.id && (n.State != "bucket" || n.Bucket < 0 || n.LastSeen.IsZero()) {
			t.Errorf("seed's entry for A = %+v", n)
		}
	}

	var viaB lookupJSON
	runJSON(t, &viaB, "lookup", a.id, "--api", b.api, "--json")
	if viaB.Target != a.id || !viaB.Found || viaB.Addr != a.listen {
		t.Errorf("lookup of A through B = %+v, want found at %s", viaB, a.listen)
	}
	if len(viaB.Closest) == 0 || viaB.Stats.Queries == 0 || viaB.Stats.Responses == 0 {
		t.Errorf("lookup through B lacks closest nodes or stats: %+v", viaB)
	}

	var alone lookupJSON
	runJSON(t, &alone, "lookup", a.id, "--seed", seed.contact, "--network", e2eNetwork, "--json")
	if !alone.Found || alone.Addr != a.listen {
		t.Errorf("standalone lookup of A = %+v, want found at %s", alone, a.listen)
	}
	// The standalone node was read-only: nobody may have inserted it.
	known := map[string]bool{seed.id: true, a.id: true, b.id: true}
	for _, d := range []*daemonProc{seed, a, b} {
		for _, n := range d.nodes(t) {
			if !known[n.ID] {
				t.Errorf("node %s has a stranger in its table after the standalone lookup: %+v", d.contact, n)
			}
		}
	}

	var pong peerJSON
	runJSON(t, &pong, "ping", a.contact, "--network", e2eNetwork, "--json")
	if pong.ID != a.id || pong.Addr != a.listen || pong.RTTMs <= 0 {
		t.Errorf("standalone ping of A = %+v", pong)
	}
	runJSON(t, &pong, "ping", a.contact, "--api", b.api, "--json")
	if pong.ID != a.id || pong.Addr != a.listen {
		t.Errorf("ping of A through B = %+v", pong)
	}

	var added peerJSON
	runJSON(t, &added, "add", b.contact, "--api", a.api, "--json")
	if added.ID != b.id || added.Contact != b.contact || added.State != "bucket" {
		t.Errorf("add of B to A = %+v", added)
	}
	if !a.hasContact(t, b.id, b.listen) {
		t.Error("A's table lacks B after `kadnode add`")
	}

	if s := seed.self(t); s.Contact != seed.contact || s.Network != e2eNetwork || s.Listen != seed.listen {
		t.Errorf("id --json of the seed = %+v, want contact %s", s, seed.contact)
	}
	checkObservability(t, b, a.id)

	for _, d := range []*daemonProc{seed, a, b} {
		if code := d.stop(); code != exitOK {
			t.Errorf("%s exited %d after SIGTERM\n%s", d.contact, code, d.logs)
		}
	}
	checkJSONLogs(t, b.logs.String())
}

// checkObservability checks B's /metrics and status page after B looked
// up target.
func checkObservability(t *testing.T, b *daemonProc, target string) {
	t.Helper()
	_, metrics := request(t, "GET", "http://"+b.api+"/metrics", "")
	for _, re := range []string{
		`kadnode_rpcs_out_total\{method="find_node",outcome="ok"\} [1-9]`,
		`kadnode_handshakes_total\{outcome="ok"\} [1-9]`,
		`kadnode_lookup_duration_seconds_count [1-9]`,
		`kadnode_table_contacts [1-9]`,
		`kadnode_sessions_live \d`,
		`kadnode_resumption_tickets [1-9]`,
		`kadnode_store_writes_total [1-9]`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics of B does not match %s", re)
		}
	}
	_, page := request(t, "GET", "http://"+b.api+"/", "")
	for _, want := range []string{b.id, b.contact, target, "<svg"} {
		if !strings.Contains(page, want) {
			t.Errorf("status page of B lacks %q", want)
		}
	}
}

// checkJSONLogs checks that every log line is a JSON object with the slog
// keys, and that the join was logged at info.
func checkJSONLogs(t *testing.T, logs string) {
	t.Helper()
	joined := false
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("--log-format json wrote a line that is not JSON: %q", line)
			continue
		}
		if rec["time"] == nil || rec["level"] == nil || rec["msg"] == nil {
			t.Errorf("log record lacks time, level or msg: %q", line)
		}
		if rec["msg"] == "joined" && rec["level"] == "INFO" {
			joined = true
		}
	}
	if !joined {
		t.Errorf("no info line for the join in:\n%s", logs)
	}
}

// TestE2ERestartKeepsTable: SIGTERM syncs the table, so a restart without
// seeds comes back with its contacts.
func TestE2ERestartKeepsTable(t *testing.T) {
	seed := spawnNode(t)
	a := spawnNode(t, "--seed", seed.contact)
	a.waitJoined(t)
	if !a.hasContact(t, seed.id, seed.listen) {
		t.Fatal("A's table lacks the seed after joining")
	}
	if code := a.stop(); code != exitOK {
		t.Fatalf("A exited %d after SIGTERM\n%s", code, a.logs)
	}
	again := &daemonProc{t: t, listen: a.listen, api: a.api, dataDir: a.dataDir, logs: &syncBuffer{}}
	again.start(t, []string{"run", "--listen", a.listen, "--api", a.api, "--data-dir", a.dataDir, "--network", e2eNetwork})
	if again.id != a.id {
		t.Errorf("restarted with ID %s, want %s from the same key", again.id, a.id)
	}
	if !again.hasContact(t, seed.id, seed.listen) {
		t.Errorf("restarted node lacks the seed; the table was not kept\n%s", again.logs)
	}
}

// TestE2ERunErrors checks the daemon's run-time errors: exit 1, nothing on
// stdout, and a message with the problem and the fix.
func TestE2ERunErrors(t *testing.T) {
	running := spawnNode(t)
	dir := t.TempDir()

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	busyUDP := udp.LocalAddr().String()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	busyTCP := tcp.Addr().String()

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"udp port in use", []string{"--listen", busyUDP, "--api", freeTCPAddr(t), "--data-dir", dir},
			[]string{busyUDP, "already in use", "--listen"}},
		{"api port in use", []string{"--listen", freeUDPAddr(t), "--api", busyTCP, "--data-dir", dir},
			[]string{"control API address " + busyTCP + " is already in use", "--api"}},
		{"data dir locked", []string{"--listen", freeUDPAddr(t), "--api", freeTCPAddr(t), "--data-dir", running.dataDir},
			[]string{"data dir " + running.dataDir + " is in use by another kadnode", "--data-dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runKadnode(t, "", append([]string{"run", "--network", e2eNetwork}, tc.args...)...)
			wantExit(t, r, exitFailure, tc.want...)
			if r.stdout != "" {
				t.Errorf("a failed run printed %q on stdout", r.stdout)
			}
		})
	}
	// The failed starts left the running node alone.
	if s := running.self(t); s.ID != running.id {
		t.Errorf("running node answers as %s, want %s", s.ID, running.id)
	}
}

// TestE2EClientErrors checks the client commands' errors through the
// binary: exit status and message.
func TestE2EClientErrors(t *testing.T) {
	node := spawnNode(t)
	silent := freeUDPAddr(t) // nobody answers there
	closedAPI := freeTCPAddr(t)
	target := strings.Repeat("ab", 20)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"bad ID", []string{"lookup", "xyz", "--api", node.api}, exitUsage,
			[]string{`bad node ID "xyz"`, "40 hex digits"}},
		{"bad contact", []string{"ping", "nohost", "--api", node.api}, exitUsage,
			[]string{`bad contact "nohost"`, "ID@host:port"}},
		{"bad seed", []string{"run", "--seed", "abc@127.0.0.1:1"}, exitUsage,
			[]string{`bad contact "abc@127.0.0.1:1"`}},
		{"public api without token", []string{"run", "--api", "0.0.0.0:" + port(closedAPI)}, exitUsage,
			[]string{"needs a token", "--api-token"}},
		{"api not reachable", []string{"nodes", "--api", closedAPI}, exitFailure,
			[]string{"cannot reach the control API at " + closedAPI, "is `kadnode run` running with --api " + closedAPI + "?"}},
		{"seed silent", []string{"lookup", target, "--seed", silent, "--network", e2eNetwork}, exitFailure,
			[]string{"no seed answered", silent}},
		{"seed of another network", []string{"lookup", target, "--seed", node.contact, "--network", "other"}, exitFailure,
			[]string{"no seed answered", `--network "other"`}},
		{"ping silent", []string{"ping", silent, "--network", e2eNetwork}, exitFailure,
			[]string{"ping of " + silent + " failed"}},
		{"add silent", []string{"add", silent, "--api", node.api}, exitFailure,
			[]string{"add of " + silent + " failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runKadnode(t, t.TempDir(), tc.args...)
			wantExit(t, r, tc.code, tc.want...)
		})
	}
}

func port(hostport string) string {
	_, p, _ := net.SplitHostPort(hostport)
	if _, err := strconv.Atoi(p); err != nil {
		return "0"
	}
	return p
}

// TestE2EWildcardListenPrintsUsableContact: on 0.0.0.0 the printed contact
// names a real address of this machine and the bound port.
func TestE2EWildcardListenPrintsUsableContact(t *testing.T) {
	seed := spawnNode(t)
	_, port, _ := net.SplitHostPort(freeUDPAddr(t))
	d := &daemonProc{dataDir: t.TempDir()}
	d.launch(t, exec.Command(kadnodeBinary(t), "run", "--listen", "0.0.0.0:"+port, "--api", freeTCPAddr(t),
		"--data-dir", d.dataDir, "--network", e2eNetwork, "--seed", seed.contact))
	_, addr, _ := strings.Cut(d.contact, "@")
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || ap.Addr().IsUnspecified() || strconv.Itoa(int(ap.Port())) != port || len(d.id) != 40 {
		t.Errorf("printed contact %q, want ID@<an address of this machine>:%s", d.contact, port)
	}
}
