// Package ratelimit bounds how often one caller — an address, a user, an
// app — may call the platform (SPEC §4 abuse rules): token buckets keyed by
// the caller, answered with how long to wait. Local keeps the buckets in
// this process; Redis keeps them where every replica of a fleet counts
// against the same ones (issue 10), and falls back to Local while Redis is
// away.
//
// It must never block a request: a caller over its rate is told to come
// back later, at once.
package ratelimit

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"
)

// Limiter decides whether a caller may go on.
type Limiter interface {
	// Allow takes one token of key's bucket; when there is none it answers
	// false and how long until there is.
	Allow(key string) (ok bool, retryAfter time.Duration)
}

// Local is a Limiter with a token bucket per key in this process, kept in
// a bounded LRU: a flood of new keys (rotated addresses, made-up tickets)
// evicts the least recently seen buckets — which were full anyway, or
// soon would be — and never grows memory or slows the other callers.
type Local struct {
	limit   rate.Limit
	burst   int
	now     func() time.Time
	mu      sync.Mutex
	buckets *expirable.LRU[string, *rate.Limiter]
}

// idle is how long an unused bucket is kept; a bucket idle that long is
// full again anyway.
const idle = 10 * time.Minute

// maxBuckets bounds the buckets kept.
const maxBuckets = 100_000

// NewLocal returns a limiter of perSecond tokens a second, burst at most.
// perSecond ≤ 0 lets everything through.
func NewLocal(perSecond float64, burst int) *Local {
	if burst < 1 {
		burst = 1
	}
	return &Local{limit: rate.Limit(perSecond), burst: burst, now: time.Now,
		buckets: expirable.NewLRU[string, *rate.Limiter](maxBuckets, nil, idle)}
}

// Allow implements Limiter.
func (l *Local) Allow(key string) (bool, time.Duration) {
	if l == nil || l.limit <= 0 {
		return true, 0
	}
	now := l.now()
	// Get-or-add as one step (both O(1)), so two first requests of a key
	// share one bucket.
	l.mu.Lock()
	b, ok := l.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets.Add(key, b)
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
