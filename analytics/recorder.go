package analytics

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
)

// RecorderConfig sizes the Recorder. Zero fields take the defaults.
type RecorderConfig struct {
	// Buffer is how many events wait for the writer (8192); beyond it
	// events are dropped, not waited for. A quarter of it (at least one)
	// is reserved for the server's own events (Record): clients' batches
	// (Submit) may fill only the rest, while the server's events may take
	// the whole, and the writer takes them first. A flood of clients'
	// events thus sheds clients' events, not the server's.
	Buffer int
	// BatchSize is how many events the writer inserts at once (256).
	BatchSize int
	// FlushInterval is the longest an event waits in a partial batch
	// (200 ms).
	FlushInterval time.Duration
	// DrainTimeout bounds the final flush at shutdown (5 s).
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

func (c *RecorderConfig) defaults() {
	if c.Buffer <= 0 {
		c.Buffer = 8192
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 256
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = 200 * time.Millisecond
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// writeTimeout bounds one batch insert, retries included.
const writeTimeout = 10 * time.Second

// serverShare is the part of the buffer reserved for the server's events.
const serverShare = 4 // a quarter

// item is a queued event; checked says Submit has validated it already.
type item struct {
	ev      models.Event
	checked bool
}

// Recorder takes events on the request path and writes them in batches
// from one background writer (Run). Recording never blocks and never
// fails the caller: when the buffer is full the event is dropped and
// counted.
type Recorder struct {
	db       *gorm.DB
	cfg      RecorderConfig
	server   chan item // the server's events (Record): the reserved part of the buffer
	client   chan item // clients' events (Submit), and the server's when server is full
	stop     chan struct{}
	stopOnce sync.Once
	closed   atomic.Bool
	started  atomic.Bool // Run, or Close in its stead, owns the drain
	done     chan struct{}
	now      func() time.Time
}

// NewRecorder returns a recorder; start its writer with Run.
func NewRecorder(db *gorm.DB, cfg RecorderConfig) *Recorder {
	cfg.defaults()
	reserved := max(cfg.Buffer/serverShare, 1)
	return &Recorder{db: db, cfg: cfg, server: make(chan item, reserved), client: make(chan item, max(cfg.Buffer-reserved, 0)),
		stop: make(chan struct{}), done: make(chan struct{}), now: func() time.Time { return time.Now().UTC() }}
}

// Record queues one of the server's own events. Give it the requesting
// frontend's channel when there is one (a search from the mini-program),
// so that channel filters see it; it defaults to SERVER, and the time to
// now. The event is validated by the writer, off the request path: an
// invalid one is counted in govmobile_events_rejected_total and logged, as
// the caller's defect.
func (r *Recorder) Record(ev models.Event) {
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = r.now()
	}
	if ev.Channel == "" {
		ev.Channel = models.ChannelServer
	}
	if r.closed.Load() {
		droppedServerClosed.Inc()
		return
	}
	it := item{ev: ev}
	select {
	case r.server <- it:
		return
	default:
	}
	select {
	case r.client <- it:
	default:
		droppedServerFull.Inc()
	}
}

// enqueueClient queues a client's event, validated, in the clients' part
// of the buffer only.
func (r *Recorder) enqueueClient(ev models.Event) {
	if r.closed.Load() {
		droppedClientClosed.Inc()
		return
	}
	select {
	case r.client <- item{ev: ev, checked: true}:
	default:
		droppedClientFull.Inc()
	}
}

// next takes a queued event without waiting, the server's first.
func (r *Recorder) next() (item, bool) {
	select {
	case it := <-r.server:
		return it, true
	default:
	}
	select {
	case it := <-r.server:
		return it, true
	case it := <-r.client:
		return it, true
	default:
		return item{}, false
	}
}

// queued is how many events wait for the writer.
func (r *Recorder) queued() int { return len(r.server) + len(r.client) }

// Run writes queued events until ctx ends or Close is called, then drains
// the buffer (within DrainTimeout) and returns. Call it once.
func (r *Recorder) Run(ctx context.Context) {
	if !r.started.CompareAndSwap(false, true) {
		return
	}
	defer close(r.done)
	tick := time.NewTicker(r.cfg.FlushInterval)
	defer tick.Stop()
	batch := make([]models.Event, 0, r.cfg.BatchSize)
	take := func(it item) {
		batch = r.add(batch, it)
		if len(batch) >= r.cfg.BatchSize {
			batch = r.flush(context.Background(), batch)
		}
	}
	for {
		// The server's events first, so that a flood of clients' events
		// delays them no more than one batch.
		select {
		case it := <-r.server:
			take(it)
			continue
		default:
		}
		select {
		case it := <-r.server:
			take(it)
		case it := <-r.client:
			take(it)
		case <-tick.C:
			if len(batch) > 0 {
				batch = r.flush(context.Background(), batch)
			}
		case <-ctx.Done():
			r.drain(batch)
			return
		case <-r.stop:
			r.drain(batch)
			return
		}
	}
}

// Close stops taking events, lets the writer drain what is buffered, and
// waits for it until ctx ends. Events recorded after Close are dropped and
// counted.
func (r *Recorder) Close(ctx context.Context) error {
	r.closed.Store(true)
	r.stopOnce.Do(func() { close(r.stop) })
	if r.started.CompareAndSwap(false, true) {
		// No writer ever ran: drain here.
		r.drain(nil)
		close(r.done)
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// drain writes batch and whatever is still buffered, within DrainTimeout;
// what is left when it runs out is counted as failed.
func (r *Recorder) drain(batch []models.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.DrainTimeout)
	defer cancel()
	for {
		if it, ok := r.next(); ok {
			batch = r.add(batch, it)
			if len(batch) < r.cfg.BatchSize {
				continue
			}
		}
		if len(batch) == 0 {
			return
		}
		batch = r.flush(ctx, batch)
		if ctx.Err() != nil {
			if n := r.queued(); n > 0 {
				writeFailedTotal.Add(float64(n))
				r.cfg.Logger.Error("analytics: events left unwritten at shutdown", "events", n)
			}
			return
		}
	}
}

// add validates a server event and appends it.
func (r *Recorder) add(batch []models.Event, it item) []models.Event {
	if !it.checked {
		if code := check(&it.ev, false, time.Time{}); code != "" {
			rejectedTotal.WithLabelValues(code).Inc()
			r.cfg.Logger.Warn("analytics: server event refused", "kind", it.ev.Kind, "reason", code)
			return batch
		}
	}
	it.ev.OccurredAt = it.ev.OccurredAt.UTC()
	it.ev.Hour = it.ev.OccurredAt.Truncate(time.Hour)
	return append(batch, it.ev)
}

// flush inserts a batch and marks its hours stale in one transaction, so
// that the rollup sees every written event. A failure is logged and
// counted; the batch is then given up (the request path has long moved
// on, and holding failed batches would only grow memory while the
// database is down). It returns the emptied batch.
func (r *Recorder) flush(ctx context.Context, batch []models.Event) []models.Event {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	var hours []time.Time
	for _, ev := range batch {
		if len(hours) == 0 || !hours[len(hours)-1].Equal(ev.Hour) {
			hours = appendOnce(hours, ev.Hour)
		}
	}
	err := database.Transaction(ctx, r.db, func(tx *gorm.DB) error {
		for i := range batch {
			batch[i].ID = 0 // a retried attempt must not reuse the IDs of the one rolled back
		}
		if err := insertFixed(tx, batch); err != nil {
			return err
		}
		// Marks last: on MySQL the hour's row stays locked until commit.
		return markStale(tx, hours)
	})
	if err != nil {
		writeFailedTotal.Add(float64(len(batch)))
		r.cfg.Logger.Error("analytics: writing events failed", "events", len(batch), "error", err)
	} else {
		writtenTotal.Add(float64(len(batch)))
	}
	clear(batch)
	return batch[:0]
}

func appendOnce(list []time.Time, t time.Time) []time.Time {
	for _, x := range list {
		if x.Equal(t) {
			return list
		}
	}
	return append(list, t)
}

// markStale marks hours as changed since their last rollup, bumping the
// version of a mark that is already there.
func markStale(tx *gorm.DB, hours []time.Time) error {
	for _, h := range hours {
		err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "hour"}},
			DoUpdates: clause.Assignments(map[string]any{"version": gorm.Expr("version + 1")}),
		}).Create(&models.EventStaleHour{Hour: h, Version: 1}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

// insertSizes are the only row counts of a multi-row INSERT: with prepared
// statements cached per SQL text, any other count would be one more
// statement on the server (MySQL caps them; see database.Padded).
var insertSizes = []int{256, 64, 16, 4, 1}

// insertFixed inserts rows in chunks of insertSizes, with the given
// clauses (an upsert's ON CONFLICT).
func insertFixed[T any](tx *gorm.DB, rows []T, clauses ...clause.Expression) error {
	for _, size := range insertSizes {
		for len(rows) >= size {
			if err := tx.Clauses(clauses...).Create(rows[:size]).Error; err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}
