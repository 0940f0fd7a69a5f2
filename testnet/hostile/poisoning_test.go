package hostile

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"

	"github.com/kadnode/kadnode/kad"
	"github.com/kadnode/kadnode/node"
)

// poisonK is the target's bucket size in the poisoning tests: small, so
// that the honest peers fill buckets and every newcomer must compete for
// a place.
const poisonK = 4

// honestPeers is how many long-lived peers, each on a /24 of its own,
// join the target before the attack: enough that its farthest bucket is
// full of them.
const honestPeers = 24

// Many authenticated identities from one /24 try to enter the table of a
// node that applies the diversity rules to private addresses: at most the
// per-/24 limits get in, and no long-lived live member is displaced.
func TestTablePoisoningOneSubnet(t *testing.T) {
	identities := size(t, "POISON_IDENTITIES", 50, 1000)
	tg := newTarget(t, "", func(c *node.Config) {
		c.K = poisonK
		c.LimitPrivate = true
	}, nil)
	before := joinHonest(t, tg)
	subnet := netip.PrefixFrom(hostIP(blockPoison, 0), 24).Masked()
	admitted := sybilWave(t, tg, identities)

	perBucket := map[int]int{}
	inTable := 0
	for _, c := range tg.Node.Node().Nodes() {
		if subnet.Contains(c.Addr.Addr()) {
			inTable++
			perBucket[c.Bucket]++
		}
	}
	t.Logf("%d identities from %s, %d of whose pings were answered: %d in the table (limit %d), at most %d in one bucket (limit %d)",
		identities, subnet, admitted, inTable, node.DefaultTableSubnetLimit, maxValue(perBucket), node.DefaultBucketSubnetLimit)
	if inTable > node.DefaultTableSubnetLimit {
		t.Errorf("%d entries from %s, over the table's limit of %d", inTable, subnet, node.DefaultTableSubnetLimit)
	}
	if inTable == 0 {
		t.Error("no identity of the subnet got in at all: the limit was not what stopped them")
	}
	for b, n := range perBucket {
		if n > node.DefaultBucketSubnetLimit {
			t.Errorf("bucket %d holds %d entries from %s, over the limit of %d", b, n, subnet, node.DefaultBucketSubnetLimit)
		}
	}
	checkKept(t, tg, before)
}

// The same wave without the diversity rules (loopback is exempt by
// default): newcomers fill empty places and the replacement caches, but
// no long-lived live member is displaced.
func TestTablePoisoningKeepsLiveMembers(t *testing.T) {
	identities := size(t, "POISON_IDENTITIES", 50, 1000)
	tg := newTarget(t, "", func(c *node.Config) { c.K = poisonK }, nil)
	before := joinHonest(t, tg)
	admitted := sybilWave(t, tg, identities)
	members, replacements := 0, 0
	for _, c := range tg.Node.Node().Nodes() {
		if _, honest := before[c.ID]; honest || c.Addr.Addr().As4()[2] != blockPoison {
			continue
		}
		if c.State == "bucket" {
			members++
		} else {
			replacements++
		}
	}
	t.Logf("%d identities without subnet limits, %d answered: %d became members (of empty places), %d wait as replacements",
		identities, admitted, members, replacements)
	checkKept(t, tg, before)
}

// joinHonest starts the honest peers, each joined through the target, and
// returns the target's members once they are in: the long-lived contacts.
// At least one bucket must be full of them, or no newcomer would have to
// compete.
func joinHonest(t *testing.T, tg *target) map[krpc.ID]node.ContactStatus {
	t.Helper()
	var honest []*peer
	for i := range honestPeers {
		honest = append(honest, newPeer(t, hostIP(blockHonest+i, 0), nil, tg.Contact()))
	}
	for _, p := range honest {
		if err := p.nd.WaitJoined(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	members := map[krpc.ID]node.ContactStatus{}
	full := 0
	perBucket := map[int]int{}
	for _, c := range tg.Node.Node().Nodes() {
		if c.State == "bucket" {
			members[c.ID] = c
			if perBucket[c.Bucket]++; perBucket[c.Bucket] == poisonK {
				full++
			}
		}
	}
	if full == 0 {
		t.Fatalf("no bucket of the target is full after %d honest peers joined: %v", honestPeers, perBucket)
	}
	return members
}

// sybilWave makes n identities, on 4 ports of each host of the poison
// /24, ping the target; they stay up (and answer) until the test ends.
// It returns how many pings were answered.
func sybilWave(t *testing.T, tg *target, n int) int {
	t.Helper()
	const portsPerHost, workers = 4, 8
	jobs := make(chan int)
	var mu sync.Mutex
	var sybils []*peer
	answered := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				p, err := startPeer(hostIP(blockPoison, i/portsPerHost), nil)
				if err != nil {
					t.Error(err)
					continue
				}
				_, _, err = p.tr.Call(testCtx(t), tg.Addr, &tg.ID, kad.PingQuery(p.tr.LocalID(), false))
				mu.Lock()
				sybils = append(sybils, p)
				if err == nil {
					answered++
				}
				mu.Unlock()
			}
		}()
	}
	t.Cleanup(func() {
		for _, p := range sybils {
			p.close()
		}
	})
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return answered
}

// checkKept fails the test for every long-lived member that is no longer
// a member.
func checkKept(t *testing.T, tg *target, before map[krpc.ID]node.ContactStatus) {
	t.Helper()
	now := map[krpc.ID]node.ContactStatus{}
	for _, c := range tg.Node.Node().Nodes() {
		now[c.ID] = c
	}
	kept := 0
	for id, c := range before {
		if n, ok := now[id]; !ok || n.State != "bucket" {
			t.Errorf("long-lived member %x (bucket %d) was displaced: now %+v", id, c.Bucket, n)
			continue
		}
		kept++
	}
	evictions := tg.Node.Node().Stats().Evictions
	t.Logf("long-lived members kept: %d of %d; evictions %d", kept, len(before), evictions)
	if evictions != 0 {
		t.Errorf("%d members evicted while every one of them was alive", evictions)
	}
}

func maxValue(m map[int]int) int {
	out := 0
	for _, v := range m {
		out = max(out, v)
	}
	return out
}
