package cli

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/time/rate"
)

// apiToken reads the bearer token from --api-token or --api-token-file
// (whose env twins keep it out of ps); "" when neither is set.
func apiToken(c *ucli.Context) (string, error) {
	token, file := c.String("api-token"), c.String("api-token-file")
	switch {
	case file == "":
		return token, nil
	case token != "":
		return "", usageErrorf("both --api-token and --api-token-file are set; give one of them")
	}
	info, err := os.Stat(file)
	if err == nil && info.Size() > maxAPITokenFileSize {
		return "", usageErrorf("--api-token-file %s holds %d bytes, more than a token (at most %d); is it the right file?",
			file, info.Size(), maxAPITokenFileSize)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", usageErrorf("cannot read --api-token-file: %v", err)
	}
	token = strings.TrimSpace(string(data))
	if token == "" {
		return "", usageErrorf("--api-token-file %s is empty; write a token of at least %d bytes to it, e.g. "+
			"head -c 32 /dev/urandom | base64 > %s", file, minAPITokenLen, file)
	}
	return token, nil
}

// checkTokenStrength refuses a token too short to withstand guessing.
func checkTokenStrength(token string) error {
	if token != "" && len(token) < minAPITokenLen {
		return usageErrorf("the control API token is %d bytes, it needs at least %d; make one with "+
			"head -c 32 /dev/urandom | base64 > token and pass --api-token-file token", len(token), minAPITokenLen)
	}
	return nil
}

// authorize checks the token, in constant time, when one is set. It comes
// as a bearer token, or as the password of HTTP Basic, which is how a
// browser sends it to the status page. A client address that keeps
// sending wrong tokens is slowed down: authFailureBurst of them, then one
// more per authRetryInterval; until then its requests get 429 without
// their token being looked at. A request with no token guesses nothing
// and is not counted.
func (a *controlAPI) authorize(next http.Handler) http.Handler {
	if a.token == "" {
		return next
	}
	want := sha256.Sum256([]byte(a.token))
	failures := newAuthLimiter()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := clientKey(r.RemoteAddr)
		now := a.now()
		if wait := failures.wait(client, now); wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, http.StatusTooManyRequests, fmt.Errorf(
				"too many wrong tokens from %s; try again in %d s with the node's token", client, secs))
			return
		}
		presented, given := presentedToken(r)
		got := sha256.Sum256([]byte(presented))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			if given {
				failures.failed(client, now)
			}
			w.Header().Add("WWW-Authenticate", `Bearer realm="kadnode"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="kadnode", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, fmt.Errorf(
				"missing or wrong bearer token; pass the node's --api-token-file (or --api-token)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// presentedToken is the request's token and whether it carried one.
func presentedToken(r *http.Request) (string, bool) {
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tok, true
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass, true
	}
	return "", false
}

// clientKey is whom failed attempts are counted against: the client's
// IPv4 address, or its IPv6 /64, which one machine usually has whole.
func clientKey(remote string) netip.Addr {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		host, _, _ := net.SplitHostPort(remote)
		a, _ := netip.ParseAddr(host)
		return a
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip
}

// authLimiter is a token bucket of failed attempts per client. It holds at
// most maxAuthClients; past that, clients it has no room for share one.
type authLimiter struct {
	mu     sync.Mutex
	m      map[netip.Addr]*rate.Limiter
	pruned time.Time // last sweep for refilled buckets, at most one per authRetryInterval
}

func newAuthLimiter() *authLimiter { return &authLimiter{m: make(map[netip.Addr]*rate.Limiter)} }

// wait is how long client must wait before its token is checked again.
func (l *authLimiter) wait(client netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[l.slot(client, now)]
	if lim == nil {
		return 0
	}
	if t := lim.TokensAt(now); t < 1 {
		return time.Duration((1 - t) * float64(authRetryInterval))
	}
	return 0
}

// failed counts one failed attempt of client.
func (l *authLimiter) failed(client netip.Addr, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := l.slot(client, now)
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(authRetryInterval), authFailureBurst)
		l.m[key] = lim
	}
	lim.AllowN(now, 1)
}

// slot is client's key in m, making room when m is full: clients whose
// bucket has refilled are forgotten, and if that is not enough a new one
// shares the zero address's bucket. The sweep runs at most once per
// authRetryInterval, so that a spray of addresses does not make every
// request walk the whole map.
func (l *authLimiter) slot(client netip.Addr, now time.Time) netip.Addr {
	if _, ok := l.m[client]; ok || len(l.m) < maxAuthClients {
		return client
	}
	if now.Sub(l.pruned) < authRetryInterval {
		return netip.Addr{}
	}
	l.pruned = now
	for k, lim := range l.m {
		if lim.TokensAt(now) >= authFailureBurst {
			delete(l.m, k)
		}
	}
	if len(l.m) < maxAuthClients {
		return client
	}
	return netip.Addr{}
}
