package analytics

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"govmobile/models"
)

// A full buffer drops the event at once: the request never waits for the
// database.
func TestRecordOnFullBufferDropsWithoutBlocking(t *testing.T) {
	r := NewRecorder(nil, RecorderConfig{Buffer: 2, Logger: quiet}) // no writer: nothing drains
	ev := models.Event{Kind: models.EventLogin}
	r.Record(ev)
	r.Record(ev)
	before := testutil.ToFloat64(droppedServerFull)
	start := time.Now()
	for range 1000 {
		r.Record(ev)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("1000 Records on a full buffer took %v", d)
	}
	if d := testutil.ToFloat64(droppedServerFull) - before; d != 1000 {
		t.Errorf("dropped{buffer_full,server} rose by %v, want 1000", d)
	}
	if r.queued() != 2 {
		t.Errorf("buffer holds %d, want 2", r.queued())
	}
}

func TestCloseWritesEverythingBuffered(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		for _, run := range []bool{true, false} {
			db.Where("1 = 1").Delete(&models.Event{})
			// A long interval and a large batch: only Close can write.
			r := NewRecorder(db, RecorderConfig{Buffer: 5000, BatchSize: 4096, FlushInterval: time.Hour, DrainTimeout: time.Minute, Logger: quiet})
			if run {
				go r.Run(context.Background())
			}
			for i := range 3000 {
				r.Record(models.Event{Kind: models.EventSearch, UserID: uint64(i%7 + 1), Term: "社保", OccurredAt: at(10+i%3, 0)})
			}
			closedBefore := testutil.ToFloat64(droppedServerClosed)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := r.Close(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			if n := count(t, db, &models.Event{}); n != 3000 {
				t.Errorf("run=%v: %d events written, want 3000", run, n)
			}
			if n := count(t, db, &models.EventStaleHour{}); n != 3 {
				t.Errorf("run=%v: %d stale hours, want 3", run, n)
			}
			r.Record(models.Event{Kind: models.EventLogin})
			if d := testutil.ToFloat64(droppedServerClosed) - closedBefore; d != 1 {
				t.Errorf("run=%v: an event after Close: dropped{closed,server} rose by %v", run, d)
			}
		}
		var ev models.Event
		if err := db.Where("term = ?", "社保").First(&ev).Error; err != nil {
			t.Fatal(err)
		}
		if ev.Channel != models.ChannelServer || !ev.Hour.Equal(ev.OccurredAt.Truncate(time.Hour)) {
			t.Errorf("written as %+v", ev)
		}
	})
}

// The writer flushes a partial batch on its timer, without Close.
func TestWriterFlushesOnInterval(t *testing.T) {
	db := openSQLite(t)
	r := NewRecorder(db, RecorderConfig{BatchSize: 1000, FlushInterval: 20 * time.Millisecond, Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	for range 5 {
		r.Record(models.Event{Kind: models.EventLogin, UserID: 1})
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(t, db, &models.Event{}) != 5 {
		if time.Now().After(deadline) {
			t.Fatal("5 events not written within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A server event that breaks the rules is counted and not written; the
// others in its batch are.
func TestWriterRefusesInvalidServerEvents(t *testing.T) {
	db := openSQLite(t)
	before := testutil.ToFloat64(rejectedTotal.WithLabelValues(RejectBadSubject))
	write(t, db, models.Event{Kind: models.EventAppOpen, UserID: 1}, models.Event{Kind: models.EventAppOpen, UserID: 1, SubjectKind: models.SubjectApp, SubjectID: 9})
	if n := count(t, db, &models.Event{}); n != 1 {
		t.Errorf("%d events written, want 1", n)
	}
	if d := testutil.ToFloat64(rejectedTotal.WithLabelValues(RejectBadSubject)) - before; d != 1 {
		t.Errorf("rejected{BAD_SUBJECT} rose by %v", d)
	}
}

// Insert statements come in a few fixed sizes whatever the batch.
func TestInsertFixedSizes(t *testing.T) {
	db := openSQLite(t)
	var sizes []int
	db.Callback().Create().Before("gorm:create").Register("test:size", func(tx *gorm.DB) {
		if evs, ok := tx.Statement.Dest.([]models.Event); ok {
			sizes = append(sizes, len(evs))
		}
	})
	evs := make([]models.Event, 347)
	for i := range evs {
		evs[i] = models.Event{Kind: models.EventLogin, Channel: models.ChannelServer, OccurredAt: at(1, 0), Hour: at(1, 0)}
	}
	if err := insertFixed(db, evs); err != nil {
		t.Fatal(err)
	}
	want := []int{256, 64, 16, 4, 4, 1, 1, 1}
	if len(sizes) != len(want) {
		t.Fatalf("statement sizes %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("statement sizes %v, want %v", sizes, want)
		}
	}
	if n := count(t, db, &models.Event{}); n != 347 {
		t.Errorf("%d rows, want 347", n)
	}
}

// Clients' batches fill only their part of the buffer: the server's own
// events keep theirs, are taken first, and may use the clients' part too.
// Drops are counted by source.
func TestServerEventsHaveReservedBuffer(t *testing.T) {
	r := NewRecorder(nil, RecorderConfig{Buffer: 8, Logger: quiet}) // no writer: nothing drains
	if cap(r.server) != 2 || cap(r.client) != 6 {
		t.Fatalf("server %d, client %d; want 2 and 6", cap(r.server), cap(r.client))
	}
	serverFull, clientFull := testutil.ToFloat64(droppedServerFull), testutil.ToFloat64(droppedClientFull)
	batch := make([]ClientEvent, 10)
	for i := range batch {
		batch[i] = ClientEvent{Kind: string(models.EventPageView), OccurredAt: r.now(), Term: "首页"}
	}
	for range 3 { // a flood
		if rep, err := r.Submit(0, models.ChannelH5, batch); err != nil || rep.Accepted != 10 {
			t.Fatalf("Submit: %+v, %v", rep, err)
		}
	}
	if d := testutil.ToFloat64(droppedClientFull) - clientFull; d != 24 {
		t.Errorf("dropped{buffer_full,client} rose by %v, want 24", d)
	}
	r.Record(models.Event{Kind: models.EventSubmitCase, SubjectKind: models.SubjectMatter, SubjectID: 1})
	r.Record(models.Event{Kind: models.EventEvaluate, Value: ptr(5)})
	if d := testutil.ToFloat64(droppedServerFull) - serverFull; d != 0 {
		t.Errorf("server events dropped under a clients' flood: %v", d)
	}
	// The writer takes the server's first.
	for _, want := range []models.EventKind{models.EventSubmitCase, models.EventEvaluate, models.EventPageView} {
		if it, ok := r.next(); !ok || it.ev.Kind != want {
			t.Fatalf("next: %v %v, want %s", it.ev.Kind, ok, want)
		}
	}
	// With its own part full, a server event takes the clients' room.
	r.Record(models.Event{Kind: models.EventLogin})
	r.Record(models.Event{Kind: models.EventLogin})
	r.Record(models.Event{Kind: models.EventLogin}) // into the clients' part, freed by next above
	r.Record(models.Event{Kind: models.EventLogin})
	if r.queued() != 8 || len(r.server) != 2 {
		t.Errorf("queued %d (%d server's), want 8 (2)", r.queued(), len(r.server))
	}
	if d := testutil.ToFloat64(droppedServerFull) - serverFull; d != 1 {
		t.Errorf("dropped{buffer_full,server} rose by %v, want 1", d)
	}
	// Closed: dropped by source.
	clientClosed, serverClosed := testutil.ToFloat64(droppedClientClosed), testutil.ToFloat64(droppedServerClosed)
	for r.queued() > 0 { // nothing to write at Close: there is no database
		r.next()
	}
	r.Close(context.Background())
	r.Submit(0, models.ChannelH5, batch[:2])
	r.Record(models.Event{Kind: models.EventLogin})
	if c, s := testutil.ToFloat64(droppedClientClosed)-clientClosed, testutil.ToFloat64(droppedServerClosed)-serverClosed; c != 2 || s != 1 {
		t.Errorf("dropped{closed}: client %v, server %v; want 2 and 1", c, s)
	}
}
