// Package search provides smart search (8.1.2 c) and the keyword query of the
// matter list (8.1.2 b): a Bleve index on disk, derived from the database
// through a transactional outbox, with a Chinese analyzer, pinyin and
// initials, synonyms, suggestions, hot searches and search logs (8.2.5).
//
// The index is never the source of truth: it holds no stored fields, results
// are loaded from the database, and it can always be rebuilt. This package
// knows gorm and the models; it must never know GraphQL or HTTP.
package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/gofrs/flock"
	"gorm.io/gorm"

	"govmobile/models"
)

// Config configures the search service.
type Config struct {
	DB     *gorm.DB
	Dir    string // the index lives here; replaced wholesale on rebuild
	Source Source
	Logger *slog.Logger
	// PollInterval is how often the outbox is read for writes made by other
	// processes; writes in this process call Notify and are applied at once.
	PollInterval time.Duration
	// TextAnalyzer overrides the analyzer of the text fields; the relevance
	// test uses it to measure the candidates.
	TextAnalyzer string
}

// Service is the search index and everything that reads it.
type Service struct {
	cfg Config
	db  *gorm.DB
	// queryAnalyzer analyses query words: the stock cjk analyzer for the
	// production index, the candidate's own analyzer when measuring others.
	queryAnalyzer string
	mapping       *mapping.IndexMappingImpl // for analysing queries
	log           *slog.Logger
	pinyin        *pinyinConverter

	mu     sync.RWMutex // guards idx against a swap during rebuild
	idx    bleve.Index
	lock   *flock.Flock // held from Open to Close
	closed bool         // set by Close; a rebuild finishing later does not reopen the index
	ready  chan struct{}
	once   sync.Once

	applyMu    sync.Mutex // one outbox applier at a time
	checkpoint atomic.Uint64
	syncedAt   atomic.Int64
	gapID      uint64
	gapSince   time.Time
	lagRows    atomic.Int64
	lagSeconds atomic.Int64 // milliseconds, despite the name of the metric it feeds
	rebuilding atomic.Bool

	notify    chan struct{}
	synonyms  *synonymCache
	logs      *logWriter
	suggester *suggester
	hot       *hotCache
}

// outboxRetention is how long applied outbox rows are kept. A replica whose
// index was last synchronised longer ago than this rebuilds it.
const outboxRetention = 7 * 24 * time.Hour

// gapTimeout is how long a hole in the outbox IDs is waited for. A hole is a
// transaction that took its ID but has not committed yet (or rolled back);
// rows above it are applied at once, and the checkpoint waits below it, so
// a late commit is not skipped.
const gapTimeout = 30 * time.Second

// Open opens the index under cfg.Dir, or notes that it must be built. Run
// builds and follows it; until the first build is done, searches answer
// UNAVAILABLE.
func Open(cfg Config) (*Service, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 500 * time.Millisecond
	}
	if cfg.TextAnalyzer == "" {
		cfg.TextAnalyzer = analyzerCJKUnigram
	}
	py, err := newPinyinConverter(polyphonesTSV)
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	s, err := open(cfg, py, lock)
	if err != nil {
		_ = lock.Unlock()
		return nil, err
	}
	return s, nil
}

// lockDir takes the lock file beside the index directory. The index and the
// directory it is rebuilt in belong to one process: replicas each keep their
// own, and `reindex` is refused while a server holds it.
func lockDir(dir string) (*flock.Flock, error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock := flock.New(dir + ".lock")
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock search index %s: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("搜索索引 %s 正被另一个 govmobile 进程使用（每个副本需要自己的数据目录；重建索引请先停止服务或调用 rebuildSearchIndex）", dir)
	}
	return lock, nil
}

func open(cfg Config, py *pinyinConverter, lock *flock.Flock) (*Service, error) {
	var err error
	s := &Service{
		cfg: cfg, db: cfg.DB, log: cfg.Logger, pinyin: py, lock: lock,
		ready: make(chan struct{}), notify: make(chan struct{}, 1),
	}
	s.queryAnalyzer = analyzerQuery
	if cfg.TextAnalyzer != analyzerCJKUnigram {
		s.queryAnalyzer = cfg.TextAnalyzer
	}
	if s.mapping, err = newMapping(cfg.TextAnalyzer); err != nil {
		return nil, err
	}
	s.synonyms = newSynonymCache(cfg.DB)
	s.logs = newLogWriter(cfg.DB, cfg.Logger)
	s.suggester = newSuggester(s)
	s.hot = newHotCache(cfg.DB)
	idx, err := openIndex(cfg.Dir)
	switch {
	case err == nil:
		cp, at := readCheckpoint(idx)
		if time.Since(at) > outboxRetention {
			s.log.Warn("搜索索引太久没有同步，将从数据库重建", "synced_at", at)
			_ = idx.Close()
			break
		}
		// Ready only after the first catch-up in Run, so a search right
		// after start sees every write committed before it.
		s.idx = idx
		s.checkpoint.Store(cp)
		s.syncedAt.Store(at.Unix())
	case errors.Is(err, errMissing):
		s.log.Info("搜索索引不存在，将从数据库构建", "dir", cfg.Dir)
	case errors.Is(err, errStale):
		s.log.Info("搜索索引的结构已更新，将从数据库重建", "dir", cfg.Dir)
	case isLockTimeout(err):
		return nil, fmt.Errorf("搜索索引 %s 正被另一个进程使用: %w", cfg.Dir, err)
	default:
		// Derived data: a corrupt index is set aside and rebuilt.
		aside := cfg.Dir + ".corrupt-" + strconv.FormatInt(time.Now().Unix(), 10)
		s.log.Error("搜索索引无法打开，已移到一旁并将重建", "err", err, "moved_to", aside)
		if rerr := os.Rename(cfg.Dir, aside); rerr != nil {
			return nil, fmt.Errorf("move corrupt search index aside: %w", rerr)
		}
	}
	return s, nil
}

func isLockTimeout(err error) bool {
	return err != nil && (errors.Is(err, context.DeadlineExceeded) || strings.Contains(strings.ToLower(err.Error()), "timeout"))
}

func (s *Service) markReady() { s.once.Do(func() { close(s.ready) }) }

// Ready reports whether searches can be answered.
func (s *Service) Ready() bool {
	select {
	case <-s.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until the index can answer, or ctx ends.
func (s *Service) WaitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Lag is how far the index is behind the outbox: rows not yet applied and
// the age of the oldest of them.
func (s *Service) Lag() (rows int64, age time.Duration) {
	return s.lagRows.Load(), time.Duration(s.lagSeconds.Load()) * time.Millisecond
}

// Notify wakes the applier after a commit that wrote outbox rows.
func (s *Service) Notify() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// Run builds the index if needed, then applies the outbox until ctx ends.
// It also flushes the search log.
func (s *Service) Run(ctx context.Context) {
	go s.logs.run(ctx)
	if !s.hasIndex() {
		for {
			if err := s.Rebuild(ctx); err == nil {
				break
			} else if ctx.Err() != nil {
				return
			} else {
				s.log.Error("搜索索引构建失败，稍后重试", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	for {
		if _, err := s.CatchUp(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("搜索索引同步失败", "err", err)
		} else if err == nil {
			s.markReady()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.notify:
		case <-tick.C:
		}
	}
}

// hasIndex reports whether an index was opened (or built) and is in use.
func (s *Service) hasIndex() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.idx != nil
}

// Close closes the index; the search log is flushed first.
func (s *Service) Close() error {
	s.logs.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.idx != nil {
		err = s.idx.Close()
		s.idx = nil
	}
	return errors.Join(err, s.lock.Unlock())
}

// index returns the current index for reading; release must be called.
func (s *Service) index() (bleve.Index, func(), error) {
	s.mu.RLock()
	if s.idx == nil {
		s.mu.RUnlock()
		return nil, nil, models.Errorf(models.ECodeUnavailable, "搜索服务正在准备中，请稍后再试。")
	}
	return s.idx, s.mu.RUnlock, nil
}

// Enqueue records, inside the caller's transaction, that entities changed.
// After the transaction commits, call Notify.
func Enqueue(tx *gorm.DB, kind models.SearchDocKind, ids ...uint64) error {
	if len(ids) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]models.SearchOutbox, len(ids))
	for i, id := range ids {
		rows[i] = models.SearchOutbox{Kind: kind, EntityID: id, CreatedAt: now}
	}
	return tx.CreateInBatches(rows, 500).Error
}

// indexedKinds are the kinds of document in the index. Their initials are
// distinct: sort keys name a document by its kind's initial.
var indexedKinds = []models.SearchDocKind{models.DocMatter, models.DocApp, models.DocKnowledge, models.DocHall, models.DocConsultation}

// Rebuild builds a new index from the database beside the current one and
// swaps it in; searches go on against the old index meanwhile. Writes
// committed during the build are in the outbox above the checkpoint taken
// before it started, and are applied afterwards.
func (s *Service) Rebuild(ctx context.Context) error {
	if !s.rebuilding.CompareAndSwap(false, true) {
		return models.Errorf(models.ECodeConflict, "搜索索引正在重建中。")
	}
	defer s.rebuilding.Store(false)
	// Building allocates heavily and briefly: collecting garbage a quarter
	// as often cut the 100k-matter build by about a fifth (docs/benchmarks.md).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	start := time.Now()
	var cp uint64
	if err := s.db.WithContext(ctx).Model(&models.SearchOutbox{}).Select("COALESCE(MAX(id), 0)").Scan(&cp).Error; err != nil {
		return fmt.Errorf("read outbox position: %w", err)
	}
	tmp := s.cfg.Dir + ".new"
	idx, err := createIndex(tmp, s.cfg.TextAnalyzer)
	if err != nil {
		return err
	}
	// Loading from the database and indexing overlap: one goroutine reads
	// and converts the next chunk while Bleve indexes the current one.
	type chunk struct {
		docs []indexDoc
		ids  []string
	}
	loadCtx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	chunks := make(chan chunk, 2)
	loadErr := make(chan error, 1)
	go func() {
		defer close(chunks)
		for _, kind := range indexedKinds {
			var after uint64
			for {
				ids, err := s.cfg.Source.IDs(loadCtx, kind, after, 5000)
				if err != nil {
					loadErr <- fmt.Errorf("list %s: %w", kind, err)
					return
				}
				if len(ids) == 0 {
					break
				}
				after = ids[len(ids)-1]
				docs, err := s.cfg.Source.Documents(loadCtx, kind, ids)
				if err != nil {
					loadErr <- fmt.Errorf("load %s: %w", kind, err)
					return
				}
				c := chunk{docs: make([]indexDoc, len(docs)), ids: make([]string, len(docs))}
				for i, d := range docs {
					c.docs[i], c.ids[i] = s.toIndexDoc(d), docID(d.Kind, d.ID)
				}
				select {
				case chunks <- c:
				case <-loadCtx.Done():
					return
				}
			}
		}
	}()
	// Two batches are built at once: Bleve analyses a batch's documents in
	// parallel but builds its segment on one core.
	var total atomic.Int64
	var wg sync.WaitGroup
	indexErr := make(chan error, 2)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range chunks {
				b := idx.NewBatch()
				for i := range c.docs {
					if err := b.Index(c.ids[i], c.docs[i]); err != nil {
						indexErr <- err
						cancelLoad()
						return
					}
				}
				if err := idx.Batch(b); err != nil {
					indexErr <- fmt.Errorf("index: %w", err)
					cancelLoad()
					return
				}
				total.Add(int64(len(c.docs)))
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-indexErr:
		_ = idx.Close()
		return err
	default:
	}
	select {
	case err := <-loadErr:
		_ = idx.Close()
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		_ = idx.Close()
		return err
	}
	now := time.Now()
	b := idx.NewBatch()
	b.SetInternal(keyCheckpoint, []byte(strconv.FormatUint(cp, 10)))
	b.SetInternal(keySyncedAt, []byte(strconv.FormatInt(now.Unix(), 10)))
	if err := idx.Batch(b); err != nil {
		_ = idx.Close()
		return err
	}
	// Merged into one segment, every term of every query opens one
	// posting list instead of one per batch segment (15 after a 100k
	// build): the median search on 100,000 matters took a third less.
	if err := forceMerge(ctx, idx); err != nil {
		_ = idx.Close()
		return err
	}
	if err := idx.Close(); err != nil {
		return err
	}
	// Swap: the old index is closed and replaced under the write lock.
	s.mu.Lock()
	if s.idx != nil {
		_ = s.idx.Close()
		s.idx = nil
	}
	err = os.RemoveAll(s.cfg.Dir)
	if err == nil {
		err = os.Rename(tmp, s.cfg.Dir)
	}
	if err == nil && s.closed {
		err = errors.New("search service closed")
	}
	if err == nil {
		// Only a successfully opened index is kept: on failure Bleve
		// returns a non-nil interface around a nil index.
		var opened bleve.Index
		if opened, err = bleve.OpenUsing(s.cfg.Dir, map[string]any{"bolt_timeout": "2s"}); err == nil {
			s.idx = opened
		}
	}
	if err == nil {
		s.checkpoint.Store(cp)
		s.syncedAt.Store(now.Unix())
		s.gapID = 0
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("swap in rebuilt search index: %w", err)
	}
	s.suggester.invalidate()
	s.log.Info("搜索索引已构建", "documents", total.Load(), "elapsed", time.Since(start).Round(time.Millisecond), "dir", filepath.Clean(s.cfg.Dir))
	if _, err = s.CatchUp(ctx); err == nil {
		s.markReady()
	}
	return err
}

// forceMerge merges the index into a single segment.
func forceMerge(ctx context.Context, idx bleve.Index) error {
	adv, err := idx.Advanced()
	if err != nil {
		return fmt.Errorf("merge search index: %w", err)
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	// A merge task takes at most ten segments, and segments still in
	// memory when it starts are persisted beside its result: go on until
	// one file is left.
	for range 4 {
		if err := sc.ForceMerge(ctx, &mergeplan.SingleSegmentMergePlanOptions); err != nil {
			return fmt.Errorf("merge search index: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if segmentFiles(sc) <= 1 {
			break
		}
	}
	return nil
}

// CatchUp applies the outbox rows above the checkpoint, in ID order, and
// returns how many it applied.
func (s *Service) CatchUp(ctx context.Context) (int, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	applied := 0
	for {
		const page = 1000
		cp := s.checkpoint.Load()
		var rows []models.SearchOutbox
		if err := s.db.WithContext(ctx).Where("id > ?", cp).Order("id").Limit(page).Find(&rows).Error; err != nil {
			return applied, fmt.Errorf("read outbox: %w", err)
		}
		if len(rows) == 0 {
			s.lagRows.Store(0)
			s.lagSeconds.Store(0)
			s.touchSyncedAt(ctx)
			return applied, nil
		}
		s.lagRows.Store(int64(len(rows)))
		s.lagSeconds.Store(time.Since(rows[0].CreatedAt).Milliseconds())
		next, complete := s.advance(cp, rows)
		if err := s.apply(ctx, rows, next); err != nil {
			return applied, err
		}
		applied += len(rows)
		if len(rows) > 0 && applied > 0 {
			s.suggester.invalidate()
		}
		if !complete || len(rows) < page {
			if complete {
				s.lagRows.Store(0)
				s.lagSeconds.Store(0)
			}
			return applied, nil
		}
	}
}

// advance finds the new checkpoint: the highest ID below which no hole is
// still being waited for. complete is false when a hole stopped it.
func (s *Service) advance(cp uint64, rows []models.SearchOutbox) (uint64, bool) {
	next := cp
	for _, r := range rows {
		if r.ID != next+1 && next != 0 {
			hole := next + 1
			if s.gapID != hole {
				s.gapID, s.gapSince = hole, time.Now()
			}
			if time.Since(s.gapSince) < gapTimeout {
				return next, false
			}
			s.log.Warn("搜索同步跳过了一段未提交的发件箱编号", "from", hole, "to", r.ID-1)
		}
		next = r.ID
	}
	return next, true
}

// apply indexes the current state of the entities named by rows and moves
// the checkpoint to cp, in one batch.
func (s *Service) apply(ctx context.Context, rows []models.SearchOutbox, cp uint64) error {
	byKind := map[models.SearchDocKind][]uint64{}
	seen := map[string]bool{}
	for _, r := range rows {
		id := docID(r.Kind, r.EntityID)
		if !seen[id] {
			seen[id] = true
			byKind[r.Kind] = append(byKind[r.Kind], r.EntityID)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.idx == nil {
		return errors.New("search index closed")
	}
	b := s.idx.NewBatch()
	for kind, ids := range byKind {
		docs, err := s.cfg.Source.Documents(ctx, kind, ids)
		if err != nil {
			return fmt.Errorf("load %s: %w", kind, err)
		}
		found := map[uint64]bool{}
		for _, d := range docs {
			found[d.ID] = true
			if err := b.Index(docID(d.Kind, d.ID), s.toIndexDoc(d)); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if !found[id] {
				b.Delete(docID(kind, id))
			}
		}
	}
	now := time.Now()
	b.SetInternal(keyCheckpoint, []byte(strconv.FormatUint(cp, 10)))
	b.SetInternal(keySyncedAt, []byte(strconv.FormatInt(now.Unix(), 10)))
	if err := s.idx.Batch(b); err != nil {
		return fmt.Errorf("apply outbox: %w", err)
	}
	s.checkpoint.Store(cp)
	s.syncedAt.Store(now.Unix())
	return nil
}

// touchSyncedAt records, at most hourly, that an idle index is in sync, so
// that a quiet replica is not rebuilt for being "too old" after a restart.
func (s *Service) touchSyncedAt(ctx context.Context) {
	if time.Since(time.Unix(s.syncedAt.Load(), 0)) < time.Hour {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.idx == nil {
		return
	}
	now := time.Now()
	if err := s.idx.SetInternal(keySyncedAt, []byte(strconv.FormatInt(now.Unix(), 10))); err == nil {
		s.syncedAt.Store(now.Unix())
	}
}

// MaxLiveSegments is how many segments the live index may grow to, from
// the updates applied since its last merge, before housekeeping merges it.
// Bleve's own merging keeps small segments few but lets up to ten of each
// size build up.
const MaxLiveSegments = 4

// Compact merges the live index into one segment when updates have spread
// it over more than maxSegments: every term of every query opens a posting
// list per segment. Searches go on meanwhile; it reports whether it merged.
func (s *Service) Compact(ctx context.Context, maxSegments int) (bool, error) {
	idx, release, err := s.index()
	if err != nil {
		return false, nil // not built yet: nothing to merge
	}
	// Not held during the merge: a swap or Close may go on, and Bleve ends
	// a merge on a closed index.
	release()
	adv, err := idx.Advanced()
	if err != nil {
		return false, nil
	}
	sc, ok := adv.(*scorch.Scorch)
	if !ok {
		return false, nil
	}
	if segmentFiles(sc) <= maxSegments {
		return false, nil
	}
	return true, forceMerge(ctx, idx)
}

// Segments is the number of segments of the live index.
func (s *Service) Segments() int {
	idx, release, err := s.index()
	if err != nil {
		return 0
	}
	defer release()
	if adv, err := idx.Advanced(); err == nil {
		if sc, ok := adv.(*scorch.Scorch); ok {
			return segmentFiles(sc)
		}
	}
	return 0
}

// segmentFiles counts the segments of the index's current snapshot, on
// disk or still in memory.
func segmentFiles(sc *scorch.Scorch) int {
	m := sc.StatsMap()
	files, _ := m["TotFileSegmentsAtRoot"].(uint64)
	mem, _ := m["TotMemorySegmentsAtRoot"].(uint64)
	return int(files + mem)
}

// PruneOutbox deletes applied outbox rows older than the retention period.
func (s *Service) PruneOutbox(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ? AND id <= ?", time.Now().UTC().Add(-outboxRetention), s.checkpoint.Load()).Delete(&models.SearchOutbox{})
	return res.RowsAffected, res.Error
}

// StartRebuild rebuilds the index in the background; false when a rebuild
// is already running.
func (s *Service) StartRebuild() bool {
	if s.rebuilding.Load() {
		return false
	}
	go func() {
		if err := s.Rebuild(context.Background()); err != nil {
			s.log.Error("搜索索引重建失败", "err", err)
		}
	}()
	return true
}

// DocCount is the number of documents in the index.
func (s *Service) DocCount() (uint64, error) {
	idx, release, err := s.index()
	if err != nil {
		return 0, nil
	}
	defer release()
	return idx.DocCount()
}
