//go:build linux

package cli

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/kadnode/kadnode/testnet"
)

// e2eDiskSize is the data dir's file system in the disk test: room for a
// key and a store, small enough to fill at once.
const e2eDiskSize = 32 << 20

// The data dir's disk fills up under a running node: /readyz says why, an
// added contact is reported as not saved and `add` exits 1. The disk is
// freed: without a restart the store reopens and /readyz turns ready; a
// restart then loads every contact the table held, the one added during
// the fault too.
func TestE2EStoreRecoversFromFullDisk(t *testing.T) {
	kadnodeBinary(t) // skips in -short before the disk is made
	dataDir := t.TempDir()
	disk := testnet.NewLoopDisk(t, dataDir, e2eDiskSize)
	a := spawnNodeIn(t, dataDir)
	var peers []*daemonProc
	for range 3 {
		p := spawnNode(t, "--seed", a.contact)
		p.waitJoined(t)
		peers = append(peers, p)
	}
	for _, p := range peers {
		waitFor(t, "A to hold "+p.contact, func() bool { return a.hasContact(t, p.id, p.listen) })
	}

	disk.Fill(t)
	var rd readyJSON
	waitFor(t, "/readyz to report the full disk", func() bool {
		rd = readyzOf(t, a)
		return !rd.Ready
	})
	st := rd.Checks[checkStore]
	if st.OK || !strings.Contains(st.Reason, "is full") || !strings.Contains(st.Reason, "free some space") {
		t.Fatalf("/readyz store check on a full disk = %+v", st)
	}
	t.Logf("/readyz on a full disk: %+v", st)

	late := spawnNode(t) // no seed: only the operator's add puts it in A's table
	r := runKadnode(t, "", "add", "--api", a.api, "--json", late.contact)
	wantExit(t, r, exitFailure, "warning:", "was not saved")
	var out peerJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Persisted == nil || *out.Persisted {
		t.Fatalf("add on a full disk answered %s (%v), want persisted: false", r.stdout, err)
	}
	if !a.hasContact(t, late.id, late.listen) {
		t.Fatal("the contact added on a full disk is not in the table")
	}
	_, page := request(t, "GET", "http://"+a.api+"/", "")
	if !strings.Contains(page, "Routing table not saved") {
		t.Error("the status page does not show the failed store")
	}

	disk.Free(t)
	waitFor(t, "/readyz to turn ready once the disk has room", func() bool { return readyzOf(t, a).Ready })
	_, metrics := request(t, "GET", "http://"+a.api+"/metrics", "")
	for _, re := range []string{`kadnode_store_reopens_total 1\b`, `kadnode_store_writable 1\b`, `kadnode_store_unsaved_changes_total [1-9]`} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics after the reopen does not match %s", re)
		}
	}
	held := a.nodes(t)
	if code := a.stop(); code != exitOK {
		t.Fatalf("A exited %d after SIGTERM\n%s", code, a.logs)
	}
	if !strings.Contains(a.logs.String(), "store reopened after a failure") {
		t.Errorf("A did not log the reopen:\n%s", a.logs)
	}

	again := &daemonProc{t: t, listen: a.listen, api: a.api, dataDir: a.dataDir, logs: &syncBuffer{}}
	again.start(t, []string{"run", "--listen", a.listen, "--api", a.api, "--data-dir", a.dataDir, "--network", e2eNetwork})
	loaded := map[string]string{}
	for _, n := range again.nodes(t) {
		loaded[n.ID] = n.Addr
	}
	for _, n := range held {
		if loaded[n.ID] != n.Addr {
			t.Errorf("contact %s@%s, in the table before the restart, was not loaded", n.ID, n.Addr)
		}
	}
	if _, ok := loaded[late.id]; !ok {
		t.Errorf("the contact added during the fault is not back after the restart")
	}
	t.Logf("%d contacts held before the restart, %d loaded after it", len(held), len(loaded))
}

// readyzOf asks a node's /readyz.
func readyzOf(t *testing.T, d *daemonProc) readyJSON {
	t.Helper()
	status, body := request(t, "GET", "http://"+d.api+"/readyz", "")
	var rd readyJSON
	if err := json.Unmarshal([]byte(body), &rd); err != nil || (status == http.StatusOK) != rd.Ready {
		t.Fatalf("/readyz = %d %s (%v)", status, body, err)
	}
	return rd
}
