package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Cross-site protection of the control API. A web page the operator has
// open can send requests to a loopback address, and by DNS rebinding read
// the answers under a name it controls. Two checks close both ways in:
//
//   - Host must name this API: a loopback name or address, the host given
//     with --api, or the address the connection arrived on. A rebound name
//     is none of these. The answer is 421 Misdirected Request.
//   - A request that changes something (any method but GET and HEAD) must
//     not come from another origin: a foreign Origin header, or a browser's
//     Sec-Fetch-Site other than same-origin or none, gets 403.
//
// The API sends no CORS headers, so a browser lets no other origin read an
// answer. kadnode's own clients send neither Origin nor Sec-Fetch-Site.

// guard applies both checks before anything else runs.
func (a *controlAPI) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hostAllowed(r) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Errorf(
				"the Host %q is not this control API's address; use its address (e.g. %s) or localhost", r.Host, defaultAPI))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if why := crossSite(r); why != "" {
				writeError(w, http.StatusForbidden, fmt.Errorf(
					"refused a cross-site %s: %s; the control API only takes changes from kadnode's own clients", r.Method, why))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// hostAllowed reports whether the request's Host names this API.
func (a *controlAPI) hostAllowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return false
	}
	// *.localhost always resolves to loopback (RFC 6761), in browsers too.
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if a.host != "" && strings.EqualFold(host, a.host) {
		return true
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false // a name that is not ours: DNS rebinding
	}
	ip = ip.Unmap().WithZone("")
	if ip.IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lip, err := netip.ParseAddrPort(local.String())
	return err == nil && lip.Addr().Unmap().WithZone("") == ip
}

// crossSite says why a state-changing request comes from another site,
// or "" when it does not.
func crossSite(r *http.Request) string {
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		if err != nil || u.Scheme != scheme || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Sprintf("Origin %q is not this API's own", origin)
		}
		return ""
	}
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
		return ""
	default:
		return fmt.Sprintf("Sec-Fetch-Site is %q", site)
	}
}
