// Package analytics provides the platform's operational analytics (8.3.1 c,
// 8.3.3 c): it takes behaviour events from the frontends (validated batch by
// batch) and from the server itself, writes them off the request path,
// rolls them up into hourly counts and distinct-user figures that are kept
// forever, prunes the raw events after a retention period, and answers the
// administrators' console with series, top lists and CSV exports.
//
// It must never slow or fail a request (a full buffer drops events and
// counts them), never answer a console query from raw events (only from
// the rollups), and never keep digit runs of what citizens typed (identity
// or phone numbers in a search are masked before anything is stored).
package analytics

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
)

// cst is China Standard Time, which has no daylight saving: day buckets
// start at 00:00 UTC+8. A fixed zone needs no tzdata on the server.
var cst = time.FixedZone("CST", 8*3600)

// DefaultRetention is how long raw events are kept when Config says nothing.
const DefaultRetention = 90 * 24 * time.Hour

// minRetention keeps raw events at least as long as a client may still send
// them late, and two days more, so that no hour, nor any hour of its China
// day, is pruned while late events for it can still arrive and be rolled up.
const minRetention = MaxEventAge + 48*time.Hour

var (
	droppedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govmobile_events_dropped_total",
		Help: "Behaviour events dropped before they were written, by reason (buffer_full, closed) and source (server: recorded by the server; client: reported by a frontend).",
	}, []string{"reason", "source"})
	rejectedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "govmobile_events_rejected_total",
		Help: "Behaviour events refused by validation, by reason code.",
	}, []string{"reason"})
	writeFailedTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "govmobile_events_write_failed_total",
		Help: "Behaviour events lost because their batch insert failed.",
	})
	writtenTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "govmobile_events_written_total",
		Help: "Behaviour events written to the database.",
	})

	// Resolved once: Record's request-path cost must not include a label
	// lookup.
	droppedServerFull   = droppedTotal.WithLabelValues("buffer_full", "server")
	droppedServerClosed = droppedTotal.WithLabelValues("closed", "server")
	droppedClientFull   = droppedTotal.WithLabelValues("buffer_full", "client")
	droppedClientClosed = droppedTotal.WithLabelValues("closed", "client")
)

// Collectors returns this package's metrics for registration.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{droppedTotal, rejectedTotal, writeFailedTotal, writtenTotal}
}

// Config configures the rollup and the retention of raw events.
type Config struct {
	// Retention is how long raw events are kept (DefaultRetention when 0;
	// never less than nine days).
	Retention time.Duration
	Logger    *slog.Logger
}

// Service rolls events up, prunes them and answers the console.
type Service struct {
	db        *gorm.DB
	retention time.Duration
	log       *slog.Logger
	now       func() time.Time
}

// New returns the analytics service.
func New(db *gorm.DB, cfg Config) *Service {
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	cfg.Retention = max(cfg.Retention, minRetention)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{db: db, retention: cfg.Retention, log: cfg.Logger, now: func() time.Time { return time.Now().UTC() }}
}

// Retention is how long raw events are kept.
func (s *Service) Retention() time.Duration { return s.retention }

// dayStart is the UTC instant at which t's China day begins.
func dayStart(t time.Time) time.Time {
	y, m, d := t.In(cst).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, cst).UTC()
}
