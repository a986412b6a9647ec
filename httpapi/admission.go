package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"govmobile/admission"
	"govmobile/models"
)

// AdmissionWait is the longest an operation waits for a turn before it
// runs over the bound (package admission).
const AdmissionWait = 250 * time.Millisecond

// Admit bounds how many GraphQL operations execute at once (package
// admission): beyond limit, an operation waits its turn in arrival order
// for at most AdmissionWait, then runs anyway. Only a request whose client
// leaves, or whose deadline passes, while it waits is answered UNAVAILABLE
// (503, Retry-After). Cache hits (put Admit inside the response cache),
// preflights and websockets (a subscription lives as long as its client)
// take no turn.
func Admit(limit int, next http.Handler) http.Handler {
	if limit <= 0 {
		return next
	}
	gate := admission.New(limit, AdmissionWait)
	admissionHeld.Set(0)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions || r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		how, leave, err := gate.Enter(r.Context())
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				admissionRefused.Inc()
			}
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, models.ECodeUnavailable, "服务繁忙，请稍后再试。")
			return
		}
		admissionWait.Observe(time.Since(start).Seconds())
		if how == admission.Overflow {
			admissionOverflow.Inc()
		}
		admissionHeld.Set(float64(gate.Held()))
		defer func() {
			leave()
			admissionHeld.Set(float64(gate.Held()))
		}()
		next.ServeHTTP(w, r)
	})
}

var (
	admissionWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "govmobile_admission_wait_seconds",
		Help: "How long GraphQL operations waited to be admitted (0 for a free turn).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12)})
	admissionOverflow = prometheus.NewCounter(prometheus.CounterOpts{Name: "govmobile_admission_overflow_total",
		Help: "GraphQL operations that waited the longest wait and ran over the bound on operations at once."})
	admissionRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "govmobile_admission_refused_total",
		Help: "GraphQL operations answered UNAVAILABLE because their deadline passed while they waited to be admitted."})
	admissionHeld = prometheus.NewGauge(prometheus.GaugeOpts{Name: "govmobile_admission_turns_held",
		Help: "Turns held by GraphQL operations executing now."})
)
