package httpapi

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"govmobile/admission"
	"govmobile/models"
)

// Admit bounds how many GraphQL operations execute at once (package
// admission): the rest wait their turn, first come first served, for as
// long as their request's deadline allows, and are then answered
// UNAVAILABLE (503, Retry-After). Cache hits and websockets (a subscription
// lives as long as its client) do not take a turn: put Admit inside the
// response cache.
func Admit(limit int, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	gate := admission.New(limit)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ctx, waited, leave, err := gate.Enter(r.Context())
		if err != nil {
			admissionRefused.Inc()
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, models.ECodeUnavailable, "服务繁忙，请稍后再试。")
			return
		}
		defer leave()
		if waited {
			admissionWait.Observe(time.Since(start).Seconds())
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var (
	admissionWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "govmobile_admission_wait_seconds",
		Help: "How long GraphQL operations waited for their turn to execute (those that waited).", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)})
	admissionRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "govmobile_admission_refused_total",
		Help: "GraphQL operations answered UNAVAILABLE because their deadline passed while waiting for their turn."})
)
