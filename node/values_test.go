package node

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

// Every refused put gets BEP 44's code and changes nothing, in memory or
// in the store; a put with the right cas then goes through.
func TestPutRefusalsChangeNothing(t *testing.T) {
	fn := newFakeNet()
	tr := fn.endpoint()
	st := openStore(t, t.TempDir(), tr.id)
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{}, tr, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	caller, other := testCaller(1), testCaller(2)
	key := testKey(1)
	v5 := signed(t, key, "", "five", 5)
	target := v5.Target()
	tok := getToken(t, s, caller, target)
	put := func(it kad.Item, token string, cas int64) *krpc.Msg {
		return s.handle(caller, kad.PutQuery(caller.ID, token, &it, cas, false))
	}
	if r := put(v5, tok, 0); r.E != nil {
		t.Fatalf("valid put refused: %v", r.E)
	}
	stored, _ := st.LoadItems()

	badSig := v5
	badSig.Sig[3] ^= 1
	badSig.Seq = 6
	otherTok := getToken(t, s, other, target)
	big := signRaw(key, "", oversize(kad.MaxValueSize+1), 6)
	bigSalt := v5
	bigSalt.Salt = []byte(strings.Repeat("s", kad.MaxSaltSize+1))
	for _, c := range []struct {
		name   string
		it     kad.Item
		token  string
		cas    int64
		code   int
		reason string
	}{
		{"missing token", signed(t, key, "", "six", 6), "", 0, krpc.ErrorCodeProtocolError, RejectToken},
		{"wrong token", signed(t, key, "", "six", 6), "12345678", 0, krpc.ErrorCodeProtocolError, RejectToken},
		{"another node's token", signed(t, key, "", "six", 6), otherTok, 0, krpc.ErrorCodeProtocolError, RejectToken},
		{"bad signature", badSig, tok, 0, krpc.ErrorCodeInvalidSignature, RejectSignature},
		{"stale seq", signed(t, key, "", "four", 4), tok, 0, krpc.ErrorCodeSequenceNumberLessThanCurrent, RejectSeq},
		{"same seq, other value", signed(t, key, "", "FIVE", 5), tok, 0, krpc.ErrorCodeSequenceNumberLessThanCurrent, RejectSeq},
		{"cas mismatch", signed(t, key, "", "six", 6), tok, 4, krpc.ErrorCodeCasHashMismatched, RejectCAS},
		{"oversize value", big, tok, 0, krpc.ErrorCodeMessageValueFieldTooBig, RejectTooBig},
		{"salt too big", bigSalt, tok, 0, krpc.ErrorCodeSaltFieldTooBig, RejectSalt},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := s.ValueStats().Rejects[c.reason]
			r := put(c.it, c.token, c.cas)
			if r == nil || r.E == nil || r.E.Code != c.code {
				t.Fatalf("reply %+v, want error code %d", r, c.code)
			}
			if r.E.Msg == "" {
				t.Fatal("error without a message")
			}
			if got := s.ValueStats().Rejects[c.reason]; got != before+1 {
				t.Fatalf("rejects[%s] = %d, want %d", c.reason, got, before+1)
			}
			if got, ok := s.vals.table.get(target, time.Now()); !ok || !got.Equal(&v5) {
				t.Fatalf("held item is now %+v (%v), want seq 5 unchanged", got, ok)
			}
			if got, _ := st.LoadItems(); len(got) != len(stored) || got[0].Seq != 5 || string(got[0].V) != string(v5.V) {
				t.Fatalf("store holds %+v after the refusal", got)
			}
			if c := s.ValueStats(); c.Held != 1 {
				t.Fatalf("%d items held", c.Held)
			}
		})
	}
	v6 := signed(t, key, "", "six", 6)
	if r := put(v6, tok, 5); r.E != nil {
		t.Fatalf("put with the right cas refused: %v", r.E)
	}
	if got, _ := s.vals.table.get(target, time.Now()); got.Seq != 6 {
		t.Fatalf("held seq %d after a cas put, want 6", got.Seq)
	}
	// An immutable item over 1,000 bytes is refused too.
	imm := kad.Item{V: bstr(oversize(kad.MaxValueSize + 1))}
	itok := getToken(t, s, caller, imm.Target())
	if r := put(imm, itok, 0); r.E == nil || r.E.Code != krpc.ErrorCodeMessageValueFieldTooBig {
		t.Fatalf("oversize immutable: %+v", r)
	}
	if _, ok := s.vals.table.get(imm.Target(), time.Now()); ok {
		t.Fatal("oversize immutable item held")
	}
}

func TestGetReplyLeavesOutKnownSeq(t *testing.T) {
	fn := newFakeNet()
	s := startNode(t, fn, Config{})
	caller := testCaller(1)
	it := signed(t, testKey(2), "salt", "v", 3)
	if e := s.vals.table.put(it, 0, caller.Addr.Addr(), time.Now()); e != nil {
		t.Fatal(e)
	}
	for seq, want := range map[int64]bool{2: true, 3: false, 4: false} {
		q := kad.GetQuery(caller.ID, it.Target(), false)
		q.A.Seq = &seq
		r := s.handle(caller, q)
		if got := r.R.V != nil; got != want {
			t.Errorf("get with seq %d: value sent %v, want %v", seq, got, want)
		}
	}
}

func TestItemTableLimits(t *testing.T) {
	self := krpc.ID{}
	now := time.Now()
	src := func(i byte) kad.Peer { return testCaller(i) }
	t.Run("per source: the oldest goes", func(t *testing.T) {
		tbl := newItemTable(self, ValuesConfig{MaxPerSource: 2}.withDefaults(), nil, nil)
		a := src(1).Addr.Addr()
		items := []kad.Item{immutable(t, "a"), immutable(t, "b"), immutable(t, "c")}
		for i, it := range items {
			if e := tbl.put(it, 0, a, now.Add(time.Duration(i)*time.Second)); e != nil {
				t.Fatal(e)
			}
		}
		if _, ok := tbl.get(items[0].Target(), now); ok {
			t.Fatal("the source's oldest item was kept over its limit")
		}
		if c := tbl.counts(); c.Held != 2 {
			t.Fatalf("%d held, want 2", c.Held)
		}
		// Another source is not affected.
		if e := tbl.put(immutable(t, "d"), 0, src(2).Addr.Addr(), now); e != nil {
			t.Fatal(e)
		}
		if c := tbl.counts(); c.Held != 3 {
			t.Fatalf("%d held, want 3", c.Held)
		}
	})
	t.Run("per node: the farthest goes", func(t *testing.T) {
		tbl := newItemTable(self, ValuesConfig{MaxItems: 4}.withDefaults(), nil, nil)
		var items []kad.Item
		for i := range 8 {
			items = append(items, immutable(t, string(rune('a'+i))))
		}
		for i, it := range items {
			_ = tbl.put(it, 0, src(byte(i)).Addr.Addr(), now)
		}
		if c := tbl.counts(); c.Held != 4 {
			t.Fatalf("%d held, want 4", c.Held)
		}
		ids := make([]krpc.ID, len(items))
		for i, it := range items {
			ids[i] = it.Target()
		}
		for _, id := range trueClosest(ids, self, 4) {
			if _, ok := tbl.held[id]; !ok {
				t.Fatalf("one of the 4 closest items to the node was dropped")
			}
		}
	})
	t.Run("bytes", func(t *testing.T) {
		tbl := newItemTable(self, ValuesConfig{MaxBytes: 2500}.withDefaults(), nil, nil)
		for i := range 4 {
			_ = tbl.put(immutable(t, strings.Repeat(string(rune('a'+i)), 990)), 0, src(byte(i)).Addr.Addr(), now)
		}
		if c := tbl.counts(); c.Bytes > 2500 || c.Held != 2 {
			t.Fatalf("%d items of %d bytes held, want 2 within 2,500", c.Held, c.Bytes)
		}
	})
}

// Items expire unless put again, in memory and in the store.
func TestItemsExpire(t *testing.T) {
	clock := newManualClock()
	fn := newFakeNet()
	tr := fn.endpoint()
	st := openStore(t, t.TempDir(), tr.id)
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{Clock: clock}, tr, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	caller := testCaller(1)
	a, b := immutable(t, "a"), immutable(t, "b")
	for _, it := range []kad.Item{a, b} {
		tok := getToken(t, s, caller, it.Target())
		if r := s.handle(caller, kad.PutQuery(caller.ID, tok, &it, 0, false)); r.E != nil {
			t.Fatal(r.E)
		}
	}
	clock.Advance(DefaultItemExpiry - time.Minute)
	tok := getToken(t, s, caller, b.Target())
	if r := s.handle(caller, kad.PutQuery(caller.ID, tok, &b, 0, false)); r.E != nil { // renews b
		t.Fatal(r.E)
	}
	clock.Advance(2 * time.Minute)
	if r := s.handle(caller, kad.GetQuery(caller.ID, a.Target(), false)); r.R.V != nil {
		t.Fatal("expired item served")
	}
	if r := s.handle(caller, kad.GetQuery(caller.ID, b.Target(), false)); r.R.V == nil {
		t.Fatal("renewed item not served")
	}
	if n := s.vals.table.expire(clock.Now()); n != 1 {
		t.Fatalf("%d items expired, want 1", n)
	}
	if items, _ := st.LoadItems(); len(items) != 1 || items[0].Target != b.Target() {
		t.Fatalf("store holds %d items after expiry, want b only", len(items))
	}
}

// A node restarted on its store serves the items it held.
func TestItemsSurviveRestart(t *testing.T) {
	fn := newFakeNet()
	tr := fn.endpoint()
	dir := t.TempDir()
	st := openStore(t, dir, tr.id)
	s, err := New(Config{}, tr, st)
	if err != nil {
		t.Fatal(err)
	}
	caller := testCaller(1)
	it := signed(t, testKey(3), "", "kept", 9)
	tok := getToken(t, s, caller, it.Target())
	if r := s.handle(caller, kad.PutQuery(caller.ID, tok, &it, 0, false)); r.E != nil {
		t.Fatal(r.E)
	}
	s.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir, tr.id)
	t.Cleanup(func() { st.Close() })
	s, err = New(Config{}, tr, st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := s.handle(caller, kad.GetQuery(caller.ID, it.Target(), false))
	if got := kad.ReplyItem(r.R); got == nil || got.Seq != 9 || string(got.V) != string(it.V) {
		t.Fatalf("after restart get returns %+v", got)
	}
}

func TestGetAndPutAcrossNetwork(t *testing.T) {
	fn := newFakeNet()
	nodes := fakeNetwork(t, fn, 30, Config{K: 8})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	imm := immutable(t, "hello")
	res, err := nodes[3].PutItem(ctx, imm, 0)
	if err != nil || res.Stored < 4 || res.Target != imm.Target() {
		t.Fatalf("put: %+v, %v", res, err)
	}
	got, err := nodes[20].GetItem(ctx, imm.Target(), nil)
	if err != nil || got.Item == nil || string(got.Item.V) != string(imm.V) {
		t.Fatalf("get immutable: %+v, %v", got, err)
	}

	key := testKey(4)
	for seq := int64(1); seq <= 3; seq++ {
		it := signed(t, key, "name", "v"+string(rune('0'+seq)), seq)
		if res, err := nodes[int(seq)*5].PutItem(ctx, it, 0); err != nil || res.Stored < 4 {
			t.Fatalf("put seq %d: %+v, %v", seq, res, err)
		}
	}
	v3 := signed(t, key, "name", "v3", 3)
	got, err = nodes[25].GetItem(ctx, v3.Target(), []byte("name"))
	if err != nil || got.Item == nil || got.Item.Seq != 3 || string(got.Item.V) != string(v3.V) {
		t.Fatalf("get mutable: %+v, %v", got, err)
	}
	// A stale put is refused, and says so: the lookup before it meets the
	// newer version, so it is not sent to nodes that never got that one.
	stale := signed(t, key, "name", "old", 2)
	res, err = nodes[7].PutItem(ctx, stale, 0)
	if err == nil || res.Errors[krpc.ErrorCodeSequenceNumberLessThanCurrent] == 0 {
		t.Fatalf("stale put: %+v, %v", res, err)
	}
	// Wrong salt: nothing valid is found.
	got, _ = nodes[25].GetItem(ctx, v3.Target(), []byte("other"))
	if got.Item != nil {
		t.Fatalf("get with the wrong salt returned %+v", got.Item)
	}
}

// A held item reaches nodes that join later and are among the closest to
// it, through the holders' republishing.
func TestHeldItemsReachNewNodes(t *testing.T) {
	fn := newFakeNet()
	cfg := Config{K: 8, Values: ValuesConfig{RepublishInterval: 100 * time.Millisecond}}
	nodes := fakeNetwork(t, fn, 3, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := immutable(t, "handed on")
	if _, err := nodes[0].PutItem(ctx, it, 0); err != nil {
		t.Fatal(err)
	}
	c := cfg
	c.Seeds = []kad.Endpoint{nodes[1].contact()}
	late := startNode(t, fn, c)
	waitJoined(t, late)
	eventually(t, "the new node to hold the item", func() bool {
		_, ok := late.vals.table.get(it.Target(), time.Now())
		return ok
	})
}
