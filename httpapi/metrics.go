package httpapi

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	operationDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "govmobile_graphql_operation_duration_seconds",
		Help:    "GraphQL operation latency, by operation name, type and outcome.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"operation", "type", "outcome"})
	httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govmobile_http_requests_total",
		Help: "HTTP requests, by route and status code.",
	}, []string{"route", "code"})
	cacheLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govmobile_response_cache_lookups_total",
		Help: "Public response cache lookups, by result (hit, miss, bypass).",
	}, []string{"result"})
)

// Collectors returns this package's metrics for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{operationDuration, httpRequests, cacheLookups, rateLimited, admissionWait, admissionOverflow, admissionRefused, admissionHeld}
}

// Operation names come from clients: at most maxOperationLabels distinct ones
// become labels, the rest are counted as "other", so a client cannot blow up
// the metric's cardinality.
const maxOperationLabels = 200

var (
	opLabelsMu sync.Mutex
	opLabels   = map[string]bool{}
)

func operationLabel(name string) string {
	if name == "" {
		return "anonymous"
	}
	if len(name) > 64 {
		return "other"
	}
	opLabelsMu.Lock()
	defer opLabelsMu.Unlock()
	if opLabels[name] {
		return name
	}
	if len(opLabels) >= maxOperationLabels {
		return "other"
	}
	opLabels[name] = true
	return name
}
