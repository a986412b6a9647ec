package apps

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/iface"
	"govmobile/models"
)

// InterfaceResult is how one bound interface answered in a test.
type InterfaceResult struct {
	Interface *models.SourceInterface
	Check     models.InterfaceCheck
}

// FunctionTest is a function test's result.
type FunctionTest struct {
	Passed  bool
	Version int
	Results []InterfaceResult
}

// testTimeout bounds one call of a test.
const testTimeout = 10 * time.Second

// RunFunctionTest calls each interface bound to an app once, as a health
// check does (9.5: availability before going online). It passes when every
// one answers (slowly is still an answer), and the app's current version
// is then marked tested, which submission requires.
func (s *Service) RunFunctionTest(ctx context.Context, adminID, id uint64) (*FunctionTest, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := Next(Status(a.Status), Submit, Owner); err != nil {
		return nil, models.Errorf(models.ECodeConflict, "应用当前状态为“%s”，不需要功能测试。", Status(a.Status).Label())
	}
	xs, err := s.Interfaces(ctx, id)
	if err != nil {
		return nil, err
	}
	res := &FunctionTest{Passed: true, Version: a.Version, Results: make([]InterfaceResult, len(xs))}
	var wg sync.WaitGroup
	for i, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Results[i] = InterfaceResult{Interface: x, Check: s.ifaces.Probe(ctx, x, testTimeout)}
		}()
	}
	wg.Wait()
	failed := 0
	for _, r := range res.Results {
		if o := iface.Outcome(r.Check.Outcome); o != iface.OK && o != iface.Slow {
			failed++
		}
	}
	res.Passed = failed == 0
	note := fmt.Sprintf("版本%d：%d个接口全部正常", a.Version, len(xs))
	if !res.Passed {
		note = fmt.Sprintf("版本%d：%d个接口中%d个异常", a.Version, len(xs), failed)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if res.Passed {
			// Only the version that was tested is marked: a change made
			// meanwhile raised the version and needs its own test.
			if err := tx.Model(&models.App{}).Where("id = ? AND version = ?", id, a.Version).
				Updates(map[string]any{"tested_version": a.Version, "tested_at": time.Now().UTC()}).Error; err != nil {
				return err
			}
		}
		return event(tx, id, "FUNCTION_TEST", adminID, note)
	})
	return res, err
}

// PressureResult is a pressure test's result.
type PressureResult struct {
	Requests, Failures int
	Concurrency        int
	P50Ms, P95Ms       int
	PerSecond          float64
	// Requests counts the calls made: those not started within the test's
	// 6 s budget are not made (each call has 4 s).
	// Poor says the app failed the test: over 5 % of calls failed, or the
	// 95th percentile was over three times the slow threshold.
	Poor bool
	// TakenOffline says the app, online, was taken offline for it (9.5).
	TakenOffline bool
}

// Bounds on a pressure test, so that it cannot be turned on a provider:
// its calls, their concurrency, and the time it may take.
const (
	MaxConcurrency      = 20
	MaxPressureRequests = 500
	pressureBudget      = 6 * time.Second
	pressureCallTimeout = 4 * time.Second
)

// hostOf is an address's host and port.
func hostOf(address string) string {
	if u, err := url.Parse(address); err == nil {
		return strings.ToLower(u.Host)
	}
	return address
}

// PressureTest calls the interfaces bound to an app, round robin, with
// the given concurrency and number of calls. An online app that does
// poorly is taken offline and its owner told (9.5).
func (s *Service) PressureTest(ctx context.Context, adminID, id uint64, concurrency, requests int) (*PressureResult, error) {
	if concurrency < 1 || concurrency > MaxConcurrency {
		return nil, models.InvalidField("concurrency", fmt.Sprintf("并发数应为1到%d。", MaxConcurrency))
	}
	if requests < concurrency || requests > MaxPressureRequests {
		return nil, models.InvalidField("requests", fmt.Sprintf("请求总数应不少于并发数，且不超过%d。", MaxPressureRequests))
	}
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	xs, err := s.Interfaces(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(xs) == 0 {
		return nil, models.Errorf(models.ECodeConflict, "应用没有绑定接口，无法进行压力测试。")
	}
	slow := 0
	for _, x := range xs {
		slow = max(slow, cmpOr(x.SlowMs, iface.DefaultSlowMs))
	}
	// One pressure test at a time per provider host, across replicas, so
	// that tests cannot be stacked into a flood.
	holder := fmt.Sprintf("app-%d-%d", id, time.Now().UnixNano())
	var leases []string
	defer func() {
		for _, l := range leases {
			_ = database.ReleaseLease(context.WithoutCancel(ctx), s.db, l, holder)
		}
	}()
	for _, x := range xs {
		name := "pressure:" + gm.SM3Hex([]byte(hostOf(x.Address)))[:32]
		if slices.Contains(leases, name) {
			continue
		}
		ok, err := database.TryLease(ctx, s.db, name, holder, pressureBudget+pressureCallTimeout+time.Second)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, models.Errorf(models.ECodeConflict, "这个接口提供方正在进行压力测试，请稍后再试。")
		}
		leases = append(leases, name)
	}
	// The test fits in a request: calls not started within the budget are
	// not made (and not counted).
	budget, cancel := context.WithTimeout(ctx, pressureBudget)
	defer cancel()
	lat := make([]int, requests)
	ok := make([]bool, requests)
	ran := make([]bool, requests)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				// A call started within the budget runs to its own timeout:
				// the budget never cuts a call short (it would count as
				// the provider's failure).
				c := s.ifaces.Probe(ctx, xs[i%len(xs)], pressureCallTimeout)
				lat[i], ran[i] = c.LatencyMs, true
				ok[i] = c.Outcome == string(iface.OK) || c.Outcome == string(iface.Slow)
			}
		}()
	}
feed:
	for i := range requests {
		select {
		case next <- i:
		case <-budget.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	made := 0
	for i := range requests {
		if ran[i] {
			made++
		}
	}
	res := &PressureResult{Requests: made, Concurrency: concurrency, PerSecond: float64(made) / elapsed.Seconds()}
	var answered []int
	for i := range requests {
		if !ran[i] {
			continue
		}
		if ok[i] {
			answered = append(answered, lat[i])
		} else {
			res.Failures++
		}
	}
	if len(answered) > 0 {
		slices.Sort(answered)
		res.P50Ms, res.P95Ms = answered[(len(answered)-1)/2], answered[(len(answered)*95+99)/100-1]
	}
	res.Poor = res.Failures*20 > made || res.P95Ms > 3*slow
	note := fmt.Sprintf("并发%d，共%d次，失败%d次，p95 %d毫秒，每秒%.1f次", concurrency, made, res.Failures, res.P95Ms, res.PerSecond)
	// Recorded even if the caller went away meanwhile.
	if err := s.db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error { return event(tx, id, "PRESSURE_TEST", adminID, note) }); err != nil {
		return nil, err
	}
	if res.Poor && Status(a.Status) == Online {
		if _, err := s.AutoOffline(ctx, id, "压力测试未通过（"+note+"）。"); err != nil && models.ErrorCode(err) != models.ECodeConflict {
			return nil, err
		}
		res.TakenOffline = true
	}
	return res, nil
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
