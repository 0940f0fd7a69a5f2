package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzGuard sends a POST with any Host, Origin and Sec-Fetch-Site through
// the cross-site checks: they never panic, and what they let through has
// a Host naming this API and no foreign Origin.
func FuzzGuard(f *testing.F) {
	for _, seed := range [][3]string{
		{"127.0.0.1:4115", "", ""},
		{"localhost:4115", "http://localhost:4115", "same-origin"},
		{"evil.example", "http://evil.example", "cross-site"},
		{"[::1]:4115", "null", ""},
		{"node.localhost.", "https://node.localhost.", "none"},
		{"10.0.0.1:4115", "http://10.0.0.1:4115", ""},
		{"[::ffff:127.0.0.1%eth0]", "", "same-site"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	a := &controlAPI{host: "10.0.0.1"}
	f.Fuzz(func(t *testing.T, host, origin, site string) {
		reached := false
		h := a.guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
		r := httptest.NewRequest("POST", "/api/add", nil)
		r.Host = host
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", site)
		h.ServeHTTP(httptest.NewRecorder(), r)
		if !reached {
			return
		}
		name := host
		if hn, _, err := net.SplitHostPort(host); err == nil {
			name = hn
		}
		name = strings.ToLower(strings.TrimSuffix(name, "."))
		ip, err := netip.ParseAddr(strings.Trim(name, "[]"))
		ours := name == "localhost" || strings.HasSuffix(name, ".localhost") || name == a.host ||
			(err == nil && ip.Unmap().IsLoopback())
		if !ours {
			t.Fatalf("Host %q got through", host)
		}
		if origin != "" {
			u, err := url.Parse(origin)
			if err != nil || !strings.EqualFold(u.Host, host) {
				t.Fatalf("Origin %q got through to Host %q", origin, host)
			}
		}
	})
}
