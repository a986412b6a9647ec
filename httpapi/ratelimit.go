package httpapi

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/ratelimit"
	"govmobile/viewer"
)

// RateLimits bound how often one address and one ticket may call the
// platform (SPEC §4). A nil limiter lets everything through.
type RateLimits struct {
	PerIP, PerTicket ratelimit.Limiter
	// Exempt paths are never limited: probes and metrics come from the
	// load balancer's and the monitor's few addresses.
	Exempt []string
}

// Limit refuses a request over its address's or its ticket's rate with
// 429, RATE_LIMITED and Retry-After, before any work is done for it.
func Limit(l RateLimits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range l.Exempt {
			if r.URL.Path == p {
				next.ServeHTTP(w, r)
				return
			}
		}
		if l.PerIP != nil {
			if ok, wait := l.PerIP.Allow("ip:" + peerIP(r)); !ok {
				tooMany(w, wait)
				return
			}
		}
		if tok := viewer.BearerToken(r); tok != "" && l.PerTicket != nil {
			// Keyed by a digest: the map never holds a usable ticket.
			if ok, wait := l.PerTicket.Allow("t:" + gm.SM3Hex([]byte(tok))[:32]); !ok {
				tooMany(w, wait)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, models.ECodeRateLimited, "请求过于频繁，请 "+strconv.Itoa(secs)+" 秒后再试。")
}

// peerIP is the address a request came from (after RealIP).
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RealIP puts the client's address in RemoteAddr when the request came
// through trusted proxies (load balancers, gateways): the rightmost
// X-Forwarded-For address that is not a trusted proxy. A request straight
// from the internet keeps its own address, whatever it claims, so nobody
// escapes a limit or forges the audit log's address by writing a header.
func RealIP(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddr(peerIP(r))
		if err != nil || !isTrusted(peer) {
			next.ServeHTTP(w, r)
			return
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		client := peer
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break // a malformed hop: trust nothing beyond it
			}
			client = a.Unmap()
			if !isTrusted(client) {
				break
			}
		}
		r2 := r.Clone(r.Context())
		r2.RemoteAddr = net.JoinHostPort(client.String(), "0")
		next.ServeHTTP(w, r2)
	})
}
