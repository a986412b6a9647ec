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

	"github.com/prometheus/client_golang/prometheus"
)

// RateLimits bound how often one address and one ticket may call the
// platform (SPEC §4). A nil limiter lets everything through.
type RateLimits struct {
	PerIP, PerTicket ratelimit.Limiter
	// Exempt paths (a trailing / for a subtree) are never limited: probes
	// and metrics come from the load balancer's and the monitor's few
	// addresses, and signed webhooks from a payment channel's or a
	// courier's few gateways (their signatures and bounded records guard
	// them).
	Exempt []string
}

// Limit refuses a request over its address's or its ticket's rate with
// 429, RATE_LIMITED and Retry-After, before any work is done for it.
func Limit(l RateLimits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range l.Exempt {
			if r.URL.Path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p)) {
				next.ServeHTTP(w, r)
				return
			}
		}
		if ok, wait := l.Check(peerIP(r), viewer.BearerToken(r)); !ok {
			rateLimited.Inc()
			tooMany(w, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check takes a token for a client address and, when there is one, a
// ticket. An IPv6 address counts by its /64, the block one subscriber
// gets: rotating addresses within it escapes nothing.
func (l RateLimits) Check(ip, ticket string) (bool, time.Duration) {
	if l.PerIP != nil {
		if ok, wait := l.PerIP.Allow("ip:" + addressKey(ip)); !ok {
			return false, wait
		}
	}
	if ticket != "" && l.PerTicket != nil {
		// Keyed by a digest: the buckets never hold a usable ticket.
		if ok, wait := l.PerTicket.Allow("t:" + gm.SM3Hex([]byte(ticket))[:32]); !ok {
			return false, wait
		}
	}
	return true, 0
}

func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Unmap().Is4() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

var rateLimited = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "govmobile_rate_limited_total",
	Help: "Requests and websocket operations refused by the rate limits.",
})

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
			hop := strings.TrimSpace(hops[i])
			a, err := netip.ParseAddr(hop)
			if err != nil {
				// Some proxies write the client's port too.
				ap, perr := netip.ParseAddrPort(hop)
				if perr != nil {
					break // a malformed hop: trust nothing beyond it
				}
				a = ap.Addr()
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
