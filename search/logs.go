package search

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/models"
)

// longDigits finds digit runs that could be an identity number, a phone
// number or a case number: they are never written to the search log nor,
// in consultations, to the index. Digits typed in groups ("1101 0119 9003",
// "139-0013-8000", "139.1234.5678"), full-width or not, count as one run.
var longDigits = regexp.MustCompile(`[0-9０-９](?:[\s\p{P}\p{S}]{0,3}[0-9０-９]){5,}`)

const maskedDigits = "[数字]"

// logQuery is the form of a query kept in the log.
func logQuery(p parsed) string { return MaskDigits(p.text) }

// MaskDigits replaces runs of six or more digits (identity numbers, phones,
// case numbers, typed with or without separators) with a placeholder.
func MaskDigits(s string) string { return longDigits.ReplaceAllString(s, maskedDigits) }

// logWriter batches search-log rows off the request path.
type logWriter struct {
	db   *gorm.DB
	log  *slog.Logger
	in   chan models.SearchLog
	mu   sync.Mutex
	buf  []models.SearchLog
	kick chan struct{}
}

func newLogWriter(db *gorm.DB, log *slog.Logger) *logWriter {
	return &logWriter{db: db, log: log, in: make(chan models.SearchLog, 4096), kick: make(chan struct{}, 1)}
}

func (w *logWriter) add(row models.SearchLog) {
	select {
	case w.in <- row:
	default:
		// Under a flood the log drops rows rather than slow searches down.
	}
}

func (w *logWriter) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			w.flush()
			return
		case row := <-w.in:
			w.mu.Lock()
			w.buf = append(w.buf, row)
			w.mu.Unlock()
		case <-tick.C:
			w.flush()
		case <-w.kick:
			w.flush()
		}
	}
}

// flush writes what is buffered, including rows still in the channel.
func (w *logWriter) flush() {
	w.mu.Lock()
	for done := false; !done; {
		select {
		case row := <-w.in:
			w.buf = append(w.buf, row)
		default:
			done = true
		}
	}
	rows := w.buf
	w.buf = nil
	w.mu.Unlock()
	if len(rows) == 0 {
		return
	}
	if err := w.db.CreateInBatches(rows, 200).Error; err != nil {
		w.log.Error("search log write failed", "rows", len(rows), "err", err)
	}
}

func (s *Service) record(req Request, p parsed, hits int, start time.Time) {
	if req.NoLog || p.text == "" {
		return
	}
	s.logs.add(models.SearchLog{
		Query: logQuery(p), Scope: string(req.Scope), Hits: hits,
		LatencyMicros: time.Since(start).Microseconds(), CreatedAt: time.Now().UTC(),
	})
}

// FlushLog writes the buffered search log now (tests, shutdown).
func (s *Service) FlushLog() { s.logs.flush() }

// hotWindow is the period hot searches are counted over.
const hotWindow = 7 * 24 * time.Hour

// HotSearch is one entry of the hot-search list.
type HotSearch struct {
	Word   string
	Count  int
	Pinned bool
}

// hotCache keeps the computed list for a minute; an administrator's pin or
// hide refreshes it at once.
type hotCache struct {
	db   *gorm.DB
	mu   sync.Mutex
	list []HotSearch
	at   time.Time
}

func newHotCache(db *gorm.DB) *hotCache { return &hotCache{db: db} }

// HotSearches lists up to n hot words: the pinned ones in their order, then
// the most searched queries of the last week that found something, without
// hidden words.
func (s *Service) HotSearches(ctx context.Context, n int) ([]HotSearch, error) {
	c := s.hot
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.list == nil || time.Since(c.at) > time.Minute {
		list, err := computeHot(ctx, c.db)
		if err != nil {
			return nil, err
		}
		c.list, c.at = list, time.Now()
	}
	return c.list[:min(n, len(c.list))], nil
}

const hotListSize = 50

func computeHot(ctx context.Context, db *gorm.DB) ([]HotSearch, error) {
	var words []models.HotWord
	if err := db.WithContext(ctx).Order("sort_order").Order("word").Find(&words).Error; err != nil {
		return nil, err
	}
	out := []HotSearch{}
	skip := map[string]bool{}
	for _, w := range words {
		skip[w.Word] = true
		if w.State == models.HotWordPinned {
			out = append(out, HotSearch{Word: w.Word, Pinned: true})
		}
	}
	var rows []struct {
		Query string
		N     int
	}
	err := db.WithContext(ctx).Model(&models.SearchLog{}).
		Select("query, COUNT(*) AS n").
		Where("created_at > ? AND hits > 0", time.Now().UTC().Add(-hotWindow)).
		Group("query").Order("n DESC").Order("query").Limit(hotListSize * 2).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		if len(out) >= hotListSize {
			break
		}
		if skip[r.Query] || strings.Contains(r.Query, maskedDigits) {
			continue
		}
		out = append(out, HotSearch{Word: r.Query, Count: r.N})
	}
	return out, nil
}

// SetHotWord pins a word (in the given position) or hides it, or with state
// "" returns it to the counted list. It takes effect at once.
func (s *Service) SetHotWord(ctx context.Context, word string, state models.HotWordState, order int) error {
	p, err := parseQuery(word)
	if err != nil || p.text == "" || utf8.RuneCountInString(p.text) > 20 {
		return models.InvalidField("word", "热词应为1到20个字。")
	}
	db := s.db.WithContext(ctx)
	switch state {
	case "":
		err = db.Where("word = ?", p.text).Delete(&models.HotWord{}).Error
	case models.HotWordPinned, models.HotWordHidden:
		if order < 0 || order > 1000 {
			return models.InvalidField("sortOrder", "排序号应在0到1000之间。")
		}
		row := models.HotWord{Word: p.text, State: state, SortOrder: order, UpdatedAt: time.Now().UTC()}
		err = db.Save(&row).Error
	default:
		return models.InvalidField("state", "热词状态不正确。")
	}
	if err != nil {
		return err
	}
	s.hot.mu.Lock()
	s.hot.list = nil
	s.hot.mu.Unlock()
	return nil
}

// HotWords lists the administrators' pins and hides.
func (s *Service) HotWords(ctx context.Context) ([]*models.HotWord, error) {
	var rows []*models.HotWord
	return rows, s.db.WithContext(ctx).Order("state").Order("sort_order").Order("word").Find(&rows).Error
}

// QueryCount is a query and how often it was searched.
type QueryCount struct {
	Query string
	Count int
}

// Statistics is the search-log summary of the admin console (8.2.5).
type Statistics struct {
	Searches      int
	ZeroHit       int
	AvgLatency    time.Duration
	P95Latency    time.Duration
	TopQueries    []QueryCount
	ZeroHitTop    []QueryCount
	SearchesByDay []QueryCount // Query holds the day, YYYY-MM-DD
}

// Stats summarises the search log since a time.
func (s *Service) Stats(ctx context.Context, since time.Time) (*Statistics, error) {
	if since.IsZero() || time.Since(since) > 366*24*time.Hour {
		return nil, models.InvalidField("days", "统计区间应在1到366天之间。")
	}
	db := s.db.WithContext(ctx).Model(&models.SearchLog{}).Where("created_at >= ?", since.UTC())
	st := &Statistics{}
	var agg struct {
		N    int
		Zero int
		Avg  float64
	}
	if err := db.Session(&gorm.Session{}).Select("COUNT(*) AS n, COALESCE(SUM(CASE WHEN hits = 0 THEN 1 ELSE 0 END), 0) AS zero, COALESCE(AVG(latency_micros), 0) AS avg").Scan(&agg).Error; err != nil {
		return nil, err
	}
	st.Searches, st.ZeroHit, st.AvgLatency = agg.N, agg.Zero, time.Duration(agg.Avg)*time.Microsecond
	if agg.N > 0 {
		var lat int64
		offset := agg.N * 95 / 100
		if offset >= agg.N {
			offset = agg.N - 1
		}
		if err := db.Session(&gorm.Session{}).Select("latency_micros").Order("latency_micros").Offset(offset).Limit(1).Scan(&lat).Error; err != nil {
			return nil, err
		}
		st.P95Latency = time.Duration(lat) * time.Microsecond
	}
	top := func(q *gorm.DB) ([]QueryCount, error) {
		var rows []QueryCount
		err := q.Select("query, COUNT(*) AS count").Group("query").Order("count DESC").Order("query").Limit(20).Scan(&rows).Error
		return rows, err
	}
	var err error
	if st.TopQueries, err = top(db.Session(&gorm.Session{})); err != nil {
		return nil, err
	}
	if st.ZeroHitTop, err = top(db.Session(&gorm.Session{}).Where("hits = 0")); err != nil {
		return nil, err
	}
	// Days are UTC days: DATE() reads the stored UTC timestamp on both
	// SQLite and MySQL.
	if err := db.Session(&gorm.Session{}).Select("DATE(created_at) AS query, COUNT(*) AS count").Group("DATE(created_at)").Scan(&st.SearchesByDay).Error; err != nil {
		return nil, err
	}
	sort.Slice(st.SearchesByDay, func(i, j int) bool { return st.SearchesByDay[i].Query < st.SearchesByDay[j].Query })
	return st, nil
}

// PruneLog deletes search-log rows older than a year.
func (s *Service) PruneLog(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", time.Now().UTC().AddDate(-1, 0, 0)).Delete(&models.SearchLog{})
	return res.RowsAffected, res.Error
}
