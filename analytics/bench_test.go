package analytics

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"govmobile/models"
)

// benchEvent is a realistic mix: views, searches, app opens, evaluations,
// spread over users, channels and regions.
func benchEvent(i int, t time.Time) models.Event {
	ev := models.Event{UserID: uint64(i%5000 + 1), RegionCode: []string{"110101", "110102", "120101", ""}[i%4], OccurredAt: t}
	switch i % 5 {
	case 0, 1:
		ev.Kind, ev.Channel, ev.SubjectKind, ev.SubjectID = models.EventMatterView, models.ChannelApp, models.SubjectMatter, uint64(i%300+1)
	case 2:
		ev.Kind, ev.Term = models.EventSearch, []string{"社保", "公积金提取", "身份证 补办", "居住证"}[i%4]
	case 3:
		ev.Kind, ev.SubjectKind, ev.SubjectID = models.EventAppOpen, models.SubjectApp, uint64(i%40+1)
	default:
		ev.Kind, ev.Value = models.EventEvaluate, ptr(int64(i%5+1))
	}
	return ev
}

func p(durations []time.Duration, q float64) float64 {
	slices.Sort(durations)
	return float64(durations[int(float64(len(durations)-1)*q)].Nanoseconds())
}

// BenchmarkRecord is the request path's cost of recording one event, with
// the writer draining to SQLite at the same time on the same two CPUs. The
// buffer is as large as the run so that every call takes the enqueue path
// (a drop is cheaper). p95-ns includes two clock reads.
func BenchmarkRecord(b *testing.B) {
	db := openSQLite(b)
	r := NewRecorder(db, RecorderConfig{Buffer: b.N + 1, Logger: quiet})
	go r.Run(context.Background())
	defer r.Close(context.Background())
	events := make([]models.Event, 1024)
	now := time.Now().UTC()
	for i := range events {
		events[i] = benchEvent(i, now)
	}
	durations := make([]time.Duration, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		r.Record(events[i%len(events)])
		durations[i] = time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(p(durations, 0.50), "p50-ns")
	b.ReportMetric(p(durations, 0.95), "p95-ns")
	b.ReportMetric(p(durations, 0.99), "p99-ns")
}

// BenchmarkRecordParallel is Record from many request goroutines at once.
func BenchmarkRecordParallel(b *testing.B) {
	db := openSQLite(b)
	r := NewRecorder(db, RecorderConfig{Buffer: b.N + 1, Logger: quiet})
	go r.Run(context.Background())
	defer r.Close(context.Background())
	ev := benchEvent(0, time.Now().UTC())
	var mu sync.Mutex
	var all []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			r.Record(ev)
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(p(all, 0.95), "p95-ns")
}

// BenchmarkIngest is the writer's sustained throughput: b.N events recorded
// as fast as the buffer takes them (never dropped) until all are written.
// It reports events written per second.
func BenchmarkIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchIngest(b, openSQLite(b)) })
	b.Run("mysql", func(b *testing.B) {
		dsn := os.Getenv("TEST_MYSQL_DSN")
		if dsn == "" {
			b.Skip("TEST_MYSQL_DSN not set")
		}
		benchIngest(b, openMySQL(b, dsn))
	})
}

func benchIngest(b *testing.B, db *gorm.DB) {
	r := NewRecorder(db, RecorderConfig{Logger: quiet})
	dropped := testutil.ToFloat64(droppedServerFull)
	failed := testutil.ToFloat64(writeFailedTotal)
	now := time.Now().UTC()
	events := make([]models.Event, 4096)
	for i := range events {
		// Spread over the last few hours, as frontends' batches are.
		events[i] = benchEvent(i, now.Add(-time.Duration(i%4)*time.Hour))
	}
	b.ResetTimer()
	start := time.Now()
	go r.Run(context.Background())
	for i := range b.N {
		for r.queued() >= cap(r.server)+cap(r.client)-1 { // keep below full: measure writing, not dropping
			time.Sleep(50 * time.Microsecond)
		}
		r.Record(events[i%len(events)])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if d := testutil.ToFloat64(droppedServerFull) - dropped; d != 0 {
		b.Fatalf("%v events dropped", d)
	}
	if d := testutil.ToFloat64(writeFailedTotal) - failed; d != 0 {
		b.Fatalf("%v events failed", d)
	}
	if n := count(b, db, &models.Event{}); n != int64(b.N) {
		b.Fatalf("%d events written, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
