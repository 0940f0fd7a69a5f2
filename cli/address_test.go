package cli

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/kadnode/kadnode/node"
)

func TestBestLocalAddrReplacesWildcard(t *testing.T) {
	for _, wild := range []string{"0.0.0.0:4114", "[::]:4114"} {
		w := netip.MustParseAddrPort(wild)
		got := bestLocalAddr(w)
		if got.Port() != 4114 || got.Addr().IsUnspecified() || got.Addr().Is4() != w.Addr().Is4() {
			t.Errorf("bestLocalAddr(%s) = %s", wild, got)
		}
	}
}

func TestContactOfPrefersExternalAndNeverPrintsWildcard(t *testing.T) {
	id := testID(0x42)
	for _, tc := range []struct {
		listen, external, want string // want "" means: any non-wildcard address on the listen port
	}{
		{"127.0.0.1:4114", "", "127.0.0.1:4114"},
		{"0.0.0.0:4114", "198.51.100.7:40000", "198.51.100.7:40000"},
		{"127.0.0.1:4114", "198.51.100.7:40000", "198.51.100.7:40000"},
		{"0.0.0.0:4114", "", ""},
	} {
		s := node.SelfInfo{ID: id, Listen: netip.MustParseAddrPort(tc.listen)}
		if tc.external != "" {
			s.External = netip.MustParseAddrPort(tc.external)
		}
		got := contactOf(s)
		host, ok := strings.CutPrefix(got, id.String()+"@")
		if !ok {
			t.Errorf("contactOf(%+v) = %q, want it to start with the ID", s, got)
			continue
		}
		if tc.want != "" && host != tc.want {
			t.Errorf("contactOf(listen %s, external %q) = %s, want %s", tc.listen, tc.external, host, tc.want)
		}
		if ap, err := netip.ParseAddrPort(host); tc.want == "" && (err != nil || ap.Addr().IsUnspecified() || ap.Port() != 4114) {
			t.Errorf("contactOf(listen %s) = %s, want a usable address on port 4114", tc.listen, host)
		}
	}
}
