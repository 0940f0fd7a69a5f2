//go:build linux

package hostile

import (
	"log/slog"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/testnet"
	"github.com/kadnode/kadnode/wire"
)

// diskImageSize is the size of the file system a node's data dir lives
// on in these tests: room for its key and store, small enough to fill.
const diskImageSize = 32 << 20

// diskFault breaks the data dir's file system while the node runs.
type diskFault struct {
	name    string
	inflict func(d *loopDisk, t *testing.T)
}

var diskFaults = []diskFault{
	{name: "read-only", inflict: func(d *loopDisk, t *testing.T) { d.GoReadOnly(t) }},
	{name: "full", inflict: func(d *loopDisk, t *testing.T) { d.Fill(t) }},
}

// The data dir turns read-only, or fills up, while the node runs: it
// logs the failure once, keeps serving and inserting from memory, and on
// the next start with a healthy disk its store opens (not corrupt) with
// every contact it had persisted before the fault.
func TestDiskFault(t *testing.T) {
	for _, fault := range diskFaults {
		t.Run(fault.name, func(t *testing.T) { runDiskFault(t, fault) })
	}
}

func runDiskFault(t *testing.T, fault diskFault) {
	dir := t.TempDir()
	disk := newLoopDisk(t, dir)
	tg := newTarget(t, dir, nil, nil)
	tg.storeMayFail = true
	storeFailed := func() bool { return len(tg.logs.atLeast(slog.LevelError)) > 0 }

	const peersEach = 6
	early := joinPeers(t, tg, 0, peersEach)
	persisted := waitPersisted(t, tg, early)

	fault.inflict(disk, t)
	late := joinPeers(t, tg, peersEach, peersEach)
	for _, p := range late {
		if !tg.inTable(p.tr.LocalID()) {
			t.Errorf("peer %s joined during the fault but is not in the table", p.tr.LocalAddr())
		}
	}
	res, err := late[len(late)-1].nd.Lookup(testCtx(t), early[0].tr.LocalID())
	if err != nil || !res.Found {
		t.Errorf("lookup through the node during the fault: found %v, %v", res.Found, err)
	}
	churned := 0
	if fault.name == "full" {
		// Pebble preallocates its WAL, so a full disk takes writes until
		// the memtable rotates and a new file is needed: the peers of the
		// fault are persisted, and it takes many more to fail the store.
		persisted = waitPersisted(t, tg, append(early, late...))
		churned = churnUntil(t, tg, size(t, "DISKFULL_CHURN", 0, 4000), storeFailed)
	}
	if fault.name == "read-only" {
		waitFor(t, "the store failure to be logged", storeFailed)
	}
	failed := storeFailed()
	errs := tg.logs.atLeast(slog.LevelError)
	for _, e := range errs {
		t.Logf("logged: %s", e)
	}
	// One line from the store, and at most one per kind of table write.
	if len(errs) > 5 {
		t.Errorf("%d error lines for one broken disk: logged for every write", len(errs))
	}
	if failed && len(errs) != 1 {
		t.Errorf("%d error lines for one broken disk, want one", len(errs))
	}

	err = tg.Stop()
	t.Logf("stop with the disk broken: %v", err)
	disk.Heal(t)
	if err := tg.Restart(testCtx(t)); err != nil {
		t.Fatalf("restart on the healed disk (the store must not be corrupt): %v", err)
	}
	restored := 0
	for id := range persisted {
		if tg.inTable(id) {
			restored++
		} else {
			t.Errorf("contact %x, persisted before the fault, is not in the table after the restart", id)
		}
	}
	t.Logf("%s disk: store failed: %v (after %d extra identities); %d contacts persisted, %d back after the restart; %d peers joined during the fault and were served",
		fault.name, failed, churned, len(persisted), restored, len(late))
}

// waitPersisted waits until the target's store holds every peer of ps,
// durably, and returns the IDs it holds. Load sees a write once Pebble
// has applied it, before its WAL sync ends, so a fault right after could
// still lose it; a synced write of our own after it (the deletion of an
// ID nobody has) returns only once the WAL is synced past every write
// before it.
func waitPersisted(t *testing.T, tg *target, ps []*peer) map[krpc.ID]bool {
	t.Helper()
	held := map[krpc.ID]bool{}
	waitFor(t, "the peers to be persisted", func() bool {
		cs, err := tg.Store().Load()
		if err != nil {
			t.Fatal(err)
		}
		clear(held)
		for _, c := range cs {
			held[c.ID] = true
		}
		for _, p := range ps {
			if !held[p.tr.LocalID()] {
				return false
			}
		}
		return true
	})
	if err := tg.Store().Delete(krpc.RandomNodeID()); err != nil {
		t.Fatalf("a synced write after the peers: %v", err)
	}
	return held
}

// churnUntil has up to n fresh identities ping the target, each from its
// own socket on the poison block, until stop holds. It returns how many
// pinged.
func churnUntil(t *testing.T, tg *target, n int, stop func() bool) int {
	t.Helper()
	const checkEvery = 50
	for i := range n {
		if i%checkEvery == 0 && stop() {
			return i
		}
		err := freshCall(hostIP(blockPoison, i%maxHostsBlock), func(tr *wire.Transport) error {
			_, _, err := tr.Call(testCtx(t), tg.Addr, &tg.ID, kad.PingQuery(tr.LocalID(), false))
			return err
		})
		if err != nil {
			t.Fatalf("identity %d: %v", i, err)
		}
	}
	return n
}

// joinPeers starts n peers, numbered from first, each joined through the
// target.
func joinPeers(t *testing.T, tg *target, first, n int) []*peer {
	t.Helper()
	var out []*peer
	for i := first; i < first+n; i++ {
		p := newPeer(t, hostIP(blockHonest+i, 0), nil, tg.Contact())
		if err := p.nd.WaitJoined(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// loopDisk is the data dir's own ext4 file system (see testnet.LoopDisk).
type loopDisk = testnet.LoopDisk

func newLoopDisk(t *testing.T, dir string) *loopDisk {
	return testnet.NewLoopDisk(t, dir, diskImageSize)
}
