package iface

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// Health checks (9.4.3): every approved interface is called on a schedule;
// each check's outcome, latency and error are kept; interfaces that keep
// answering slowly, failing or timing out raise alerts.

// Outcome is how a check went.
type Outcome string

// The outcomes.
const (
	OK      Outcome = "OK"
	Slow    Outcome = "SLOW"    // answered, over the slow threshold
	Failed  Outcome = "FAILED"  // no usable answer: refused, 4xx/5xx, not JSON, too large
	Timeout Outcome = "TIMEOUT" // no answer in time
)

// Label is the outcome's Chinese name.
func (o Outcome) Label() string {
	return map[Outcome]string{OK: "正常", Slow: "响应慢", Failed: "报错", Timeout: "超时"}[o]
}

// DefaultSlowMs is the slow threshold of an interface that sets none;
// MaxSlowMs the highest one may set, below the checks' timeout.
const (
	DefaultSlowMs = 3000
	MaxSlowMs     = 9000
)

// HealthConfig tunes the scheduler.
type HealthConfig struct {
	// Interval between two checks of an interface (default 1 min).
	Interval time.Duration
	// Tick is how often due checks are looked for (default 5 s).
	Tick time.Duration
	// Timeout bounds one check (default 10 s).
	Timeout time.Duration
	// Workers bounds the checks in flight (default 32).
	Workers int
	// AlertAfter is how many bad checks in a row raise an alert (default 2).
	AlertAfter int
	// Retention is how long checks are kept (default 30 days).
	Retention time.Duration
	// Holder names this process in the scheduler's lease.
	Holder string
	// OnBad is told, after each run, of the interfaces whose bad streak
	// grew (apps take unstable interfaces offline, 9.5).
	OnBad func(ctx context.Context, ids []uint64)
	// OnChecked is told, after each run's commit, of the checks recorded
	// (the app counts them as interface calls in its statistics).
	OnChecked func(ctx context.Context, checks []models.InterfaceCheck)
	Logger    *slog.Logger
}

func (c *HealthConfig) defaults() {
	if c.Interval <= 0 {
		c.Interval = time.Minute
	}
	if c.Tick <= 0 {
		c.Tick = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.AlertAfter <= 0 {
		c.AlertAfter = 2
	}
	if c.Retention <= 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.Holder == "" {
		c.Holder = randomCode()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// healthLease is the lease that makes one replica the checker at a time.
const healthLease = "interface-health"

// Lease and run bounds: the lease outlives a run, which renews it every
// Tick; a run that cannot finish in runCap leaves the rest for the next
// interval (their next check is already set).
const (
	leaseTTL = 2 * time.Minute
	runCap   = 90 * time.Second
)

// RunHealthChecks checks due interfaces every Tick until ctx ends, while
// this process holds the scheduler's lease. The schedule is in the
// database (each interface's next_check_at), so it survives restarts.
func (s *Service) RunHealthChecks(ctx context.Context, cfg HealthConfig) {
	cfg.defaults()
	t := time.NewTicker(cfg.Tick)
	defer t.Stop()
	var pruned time.Time
	for {
		held, err := database.TryLease(ctx, s.db, healthLease, cfg.Holder, leaseTTL)
		if err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("接口健康检查：租约失败", "error", err)
		}
		if held {
			s.leasedRun(ctx, cfg)
			if time.Since(pruned) > time.Hour {
				pruned = time.Now()
				if err := s.Prune(ctx, time.Now().UTC().Add(-cfg.Retention)); err != nil && ctx.Err() == nil {
					cfg.Logger.Warn("接口健康检查：清理旧记录失败", "error", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			if held {
				_ = database.ReleaseLease(context.WithoutCancel(ctx), s.db, healthLease, cfg.Holder)
			}
			return
		case <-t.C:
		}
	}
}

// leasedRun is one run, renewing the lease as it goes and stopped if the
// lease is lost or the run takes longer than runCap.
func (s *Service) leasedRun(ctx context.Context, cfg HealthConfig) {
	run, cancel := context.WithTimeout(ctx, runCap)
	defer cancel()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(cfg.Tick)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if ok, err := database.TryLease(run, s.db, healthLease, cfg.Holder, leaseTTL); !ok || err != nil {
					cancel()
					return
				}
			}
		}
	}()
	defer close(done)
	if _, err := s.CheckDue(run, time.Now().UTC(), cfg); err != nil && ctx.Err() == nil {
		cfg.Logger.Warn("接口健康检查失败", "error", err)
	}
}

// CheckDue claims the approved, checkable interfaces whose check is due at
// now, checks them, and records the outcomes and alerts; it returns how
// many it checked. A claimed interface's next check is set before it is
// called, and its outcome is recorded only while the claim is still this
// run's, so two runs (replicas whose leases overlapped) do not both count
// one check.
func (s *Service) CheckDue(ctx context.Context, now time.Time, cfg HealthConfig) (int, error) {
	cfg.defaults()
	db := s.db.WithContext(ctx)
	claim := randomCode()
	// One statement claims every due interface (no ID list: a statement of
	// one shape, whatever the number due).
	if err := db.Model(&models.SourceInterface{}).
		Where("status = ? AND uncheckable = ? AND (next_check_at IS NULL OR next_check_at <= ?)", string(Approved), false, now).
		UpdateColumns(map[string]any{"next_check_at": now.Add(cfg.Interval), "check_claim": claim}).Error; err != nil {
		return 0, err
	}
	var list []*models.SourceInterface
	if err := db.Where("check_claim = ?", claim).Find(&list).Error; err != nil || len(list) == 0 {
		return 0, err
	}
	checks := make([]models.InterfaceCheck, len(list))
	done := make([]bool, len(list))
	var wg sync.WaitGroup
	sem := make(chan struct{}, cfg.Workers)
	for i, x := range list {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if ctx.Err() != nil {
				return // the run was cut short: left for the next run
			}
			checks[i] = s.check(ctx, x, cfg.Timeout)
			done[i] = ctx.Err() == nil
		}()
	}
	wg.Wait()
	// What finished is recorded even when the run was cut short (its cap,
	// or a lost lease: then the claims decide); the rest is due again.
	var fin []*models.SourceInterface
	var finChecks []models.InterfaceCheck
	var left []uint64
	for i, x := range list {
		if done[i] {
			fin, finChecks = append(fin, x), append(finChecks, checks[i])
		} else {
			left = append(left, x.ID)
		}
	}
	rec, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for chunk := range database.Padded(left) {
		if err := s.db.WithContext(rec).Model(&models.SourceInterface{}).Where("check_claim = ? AND id IN ?", claim, chunk).
			UpdateColumns(map[string]any{"next_check_at": now, "check_claim": ""}).Error; err != nil {
			return 0, err
		}
	}
	if len(fin) == 0 {
		return 0, ctx.Err()
	}
	return len(fin), s.record(rec, claim, fin, finChecks, cfg)
}

// Prune deletes checks older than before, a thousand at a time, so that no
// one statement holds the database long.
func (s *Service) Prune(ctx context.Context, before time.Time) error {
	db := s.db.WithContext(ctx)
	for {
		var ids []uint64
		if err := db.Model(&models.InterfaceCheck{}).Where("checked_at < ?", before).Order("id").Limit(1000).Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for chunk := range database.Padded(ids) {
			if err := db.Where("id IN ?", chunk).Delete(&models.InterfaceCheck{}).Error; err != nil {
				return err
			}
		}
		if len(ids) < 1000 {
			return nil
		}
	}
}

// Probe calls an interface once as a health check does, with its standard
// parameters, and says how it went (function and pressure tests of apps).
func (s *Service) Probe(ctx context.Context, x *models.SourceInterface, timeout time.Duration) models.InterfaceCheck {
	return s.check(ctx, x, timeout)
}

// check calls one interface with its standard parameters.
func (s *Service) check(ctx context.Context, x *models.SourceInterface, timeout time.Duration) models.InterfaceCheck {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := models.InterfaceCheck{InterfaceID: x.ID, CheckedAt: time.Now().UTC()}
	values := map[string]string{}
	for _, p := range x.RequestParams {
		if v, ok := x.HealthParams[p.Name]; ok {
			values[p.Name] = v
		} else if v, ok := standardParam(p.Name); ok {
			values[p.Name] = v
		}
	}
	call, err := s.prepare(ctx, x, values)
	if err != nil {
		var me *models.Error
		if errors.As(err, &me) {
			c.Outcome, c.Error = string(Failed), me.Message
		} else {
			c.Outcome, c.Error = string(Failed), "无法生成请求。"
		}
		return c
	}
	call.req.Header.Set("User-Agent", "govmobile-health/1")
	resp, err := s.out.Do(ctx, call.req)
	if err != nil {
		c.Error = failure(err)
		c.Outcome = string(Failed)
		if c.Error == failure(context.DeadlineExceeded) {
			c.Outcome = string(Timeout)
		}
		return c
	}
	c.Status, c.LatencyMs = resp.Status, int(resp.Elapsed.Milliseconds())
	slow := x.SlowMs
	if slow == 0 {
		slow = DefaultSlowMs
	}
	switch {
	case resp.Status >= http.StatusBadRequest:
		c.Outcome, c.Error = string(Failed), fmt.Sprintf("接口返回 HTTP %d。", resp.Status)
	case !jsonBody(resp.Body):
		c.Outcome, c.Error = string(Failed), "接口返回的内容不是 JSON。"
	case c.LatencyMs > slow:
		c.Outcome, c.Error = string(Slow), fmt.Sprintf("响应用时 %d 毫秒，超过阈值 %d 毫秒。", c.LatencyMs, slow)
	default:
		c.Outcome = string(OK)
	}
	return c
}

// record stores a run's checks, the interfaces' streaks and the alerts.
func (s *Service) record(ctx context.Context, claim string, list []*models.SourceInterface, checks []models.InterfaceCheck, cfg HealthConfig) error {
	byOutcome := map[Outcome][]uint64{}
	var recovered, worse []uint64
	var recorded []models.InterfaceCheck
	for i, x := range list {
		o := Outcome(checks[i].Outcome)
		byOutcome[o] = append(byOutcome[o], x.ID)
		if o == OK && x.BadStreak > 0 {
			recovered = append(recovered, x.ID)
		}
		if o != OK {
			worse = append(worse, x.ID)
		}
	}
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		// A claim lost to another run (this run outlived its lease) is not
		// recorded: that run checks those interfaces.
		var still []uint64
		if err := tx.Model(&models.SourceInterface{}).Where("check_claim = ?", claim).Pluck("id", &still).Error; err != nil {
			return err
		}
		if len(still) < len(list) {
			keep := map[uint64]bool{}
			for _, id := range still {
				keep[id] = true
			}
			var l2 []*models.SourceInterface
			var c2 []models.InterfaceCheck
			for i, x := range list {
				if keep[x.ID] {
					l2, c2 = append(l2, x), append(c2, checks[i])
				}
			}
			list, checks = l2, c2
			byOutcome, recovered = map[Outcome][]uint64{}, nil
			for i, x := range list {
				o := Outcome(checks[i].Outcome)
				byOutcome[o] = append(byOutcome[o], x.ID)
				if o == OK && x.BadStreak > 0 {
					recovered = append(recovered, x.ID)
				}
			}
			if len(list) == 0 {
				return nil
			}
		}
		if err := tx.CreateInBatches(checks, 200).Error; err != nil {
			return err
		}
		recorded = checks
		for o, ids := range byOutcome {
			streak := gorm.Expr("bad_streak + 1")
			if o == OK {
				streak = gorm.Expr("0")
			}
			for chunk := range database.Padded(ids) {
				if err := tx.Model(&models.SourceInterface{}).Where("check_claim = ? AND id IN ?", claim, chunk).
					UpdateColumns(map[string]any{"last_check_at": checks[0].CheckedAt, "last_outcome": string(o), "bad_streak": streak}).Error; err != nil {
					return err
				}
			}
		}
		now := time.Now().UTC()
		for chunk := range database.Padded(recovered) {
			if err := tx.Model(&models.InterfaceAlert{}).Where("interface_id IN ? AND status <> ? AND recovered_at IS NULL", chunk, alertResolved).
				Update("recovered_at", now).Error; err != nil {
				return err
			}
		}
		for i, x := range list {
			o := Outcome(checks[i].Outcome)
			if o == OK || x.BadStreak+1 < cfg.AlertAfter {
				continue
			}
			if err := raise(tx, x, o, checks[i], x.BadStreak+1, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil && cfg.OnBad != nil && len(worse) > 0 {
		cfg.OnBad(ctx, worse)
	}
	if err == nil && cfg.OnChecked != nil {
		cfg.OnChecked(ctx, recorded)
	}
	return err
}

// Alert statuses.
const (
	alertOpen     = "OPEN"
	alertAcked    = "ACKNOWLEDGED"
	alertResolved = "RESOLVED"
)

// raise opens an alert of kind o on x, or counts on the one already open.
func raise(tx *gorm.DB, x *models.SourceInterface, o Outcome, c models.InterfaceCheck, streak int, now time.Time) error {
	msg := fmt.Sprintf("接口“%s”连续%d次检查%s：%s", x.Name, streak, o.Label(), c.Error)
	if utf8.RuneCountInString(msg) > 300 {
		msg = truncate(msg, 300)
	}
	res := tx.Model(&models.InterfaceAlert{}).Where("interface_id = ? AND kind = ? AND status <> ?", x.ID, string(o), alertResolved).
		Updates(map[string]any{"count": gorm.Expr("count + 1"), "last_at": now, "message": msg, "recovered_at": nil})
	if res.Error != nil || res.RowsAffected > 0 {
		return res.Error
	}
	return tx.Create(&models.InterfaceAlert{InterfaceID: x.ID, Kind: string(o), Status: alertOpen, Message: msg, Count: 1, FirstAt: now, LastAt: now}).Error
}

func jsonBody(b []byte) bool { return json.Valid(b) }
