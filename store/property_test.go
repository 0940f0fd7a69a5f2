package store

import (
	"os"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/kadnode/kadnode/kad"
	"pgregory.net/rapid"
)

// TestStoreMatchesModel runs random Put/Update/Delete/Touch/flush/reopen
// sequences against a map and checks that Load equals it, before and after
// a final Close and Open.
func TestStoreMatchesModel(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		dir, err := os.MkdirTemp(t.TempDir(), "prop")
		if err != nil {
			rt.Fatal(err)
		}
		s, err := Open(dir, testOptions())
		if err != nil {
			rt.Fatal(err)
		}
		defer func() { _ = s.Close() }()
		model := map[krpc.ID]kad.Contact{}
		const idPool = 12
		contact := genContact(idPool)

		rt.Repeat(map[string]func(*rapid.T){
			"put": func(t *rapid.T) {
				c := contact.Draw(t, "c")
				if err := s.Put(c); err != nil {
					t.Fatal(err)
				}
				model[c.ID] = c
			},
			"update": func(t *rapid.T) {
				puts := rapid.SliceOfN(contact, 0, 3).Draw(t, "puts")
				dels := rapid.SliceOfN(rapid.IntRange(0, idPool-1), 0, 3).Draw(t, "dels")
				ids := make([]krpc.ID, len(dels))
				for i, d := range dels {
					ids[i] = testID(d)
				}
				if err := s.Update(puts, ids); err != nil {
					t.Fatal(err)
				}
				for _, c := range puts {
					model[c.ID] = c
				}
				for _, id := range ids {
					delete(model, id)
				}
			},
			"delete": func(t *rapid.T) {
				id := testID(rapid.IntRange(0, idPool-1).Draw(t, "id"))
				if err := s.Delete(id); err != nil {
					t.Fatal(err)
				}
				delete(model, id)
			},
			"touch": func(t *rapid.T) {
				if len(model) == 0 {
					t.Skip("nothing to touch")
				}
				ids := make([]krpc.ID, 0, len(model))
				for id := range model {
					ids = append(ids, id)
				}
				c := model[rapid.SampledFrom(ids).Draw(t, "id")]
				c.LastSeen = time.Unix(0, rapid.Int64().Draw(t, "last seen"))
				if err := s.Touch(c); err != nil {
					t.Fatal(err)
				}
				model[c.ID] = c
			},
			"flush touches": func(t *rapid.T) {
				if err := s.flushTouches(false); err != nil {
					t.Fatal(err)
				}
			},
			"reopen": func(t *rapid.T) {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if s, err = Open(dir, testOptions()); err != nil {
					t.Fatal(err)
				}
			},
			"": func(t *rapid.T) {
				checkModel(t, s, model)
			},
		})
		if err := s.Close(); err != nil {
			rt.Fatal(err)
		}
		if s, err = Open(dir, testOptions()); err != nil {
			rt.Fatal(err)
		}
		checkModel(rt, s, model)
	})
}

func checkModel(t *rapid.T, s *Store, model map[krpc.ID]kad.Contact) {
	cs, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(model) {
		t.Fatalf("loaded %d contacts, model has %d", len(cs), len(model))
	}
	for _, c := range cs {
		if want, ok := model[c.ID]; !ok || !sameContact(c, want) {
			t.Fatalf("loaded %+v, model has %+v (present %v)", c, want, ok)
		}
	}
}
