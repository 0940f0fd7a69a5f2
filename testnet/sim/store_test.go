package sim

import (
	"net/netip"
	"testing"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
)

func TestMemStoreKeepsLatestContactPerID(t *testing.T) {
	s := NewMemStore()
	a := kad.Contact{ID: krpc.ID{1}, Addr: netip.MustParseAddrPort("127.0.0.1:1"), Place: kad.InBucket}
	b := kad.Contact{ID: krpc.ID{2}, Addr: netip.MustParseAddrPort("127.0.0.2:1"), Place: kad.InReplacement}
	for _, c := range []kad.Contact{a, b} {
		if err := s.Put(c); err != nil {
			t.Fatal(err)
		}
	}
	a.Addr = netip.MustParseAddrPort("127.0.0.3:1")
	if err := s.Touch(a); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(b.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != a {
		t.Fatalf("Load = %+v, want just %+v", got, a)
	}
}
