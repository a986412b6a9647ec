package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Redis is the store a fleet's limiters share (issue 10): every replica
// pointed at the same Redis takes its tokens from the same buckets, so a
// client gets the fleet's rate, not the rate times the replicas.
//
// The buckets are GCRA cells (github.com/go-redis/redis_rate: one Lua
// script, run with EVALSHA, reads and moves the cell's "theoretical
// arrival time" atomically, timed by Redis's own clock, so replicas'
// clocks need not agree). Each cell expires when its bucket would be full
// again (at most burst/rate seconds), so a flood of made-up keys never
// grows Redis beyond what the flood's last few seconds wrote.
//
// Redis must never make a request wait or fail: every call is bounded by
// Timeout, and while Redis does not answer, each limiter counts in this
// process (its Local twin), which is what a single replica does anyway. The
// outage is logged once, Available says false (readiness reports the store
// as degraded, the govmobile_ratelimit_shared_available gauge is 0), and
// a probe every ProbeInterval — never a request — finds Redis again.
type Redis struct {
	client  *redis.Client
	gcra    *redis_rate.Limiter
	opts    RedisOptions
	log     *slog.Logger
	up      atomic.Bool
	failed  atomic.Int32 // calls failed in a row
	local   atomic.Int64 // decisions taken in-process while Redis was away
	mu      sync.Mutex
	probing bool
	since   time.Time // when the current outage began
	closed  chan struct{}
	close   sync.Once
	wg      sync.WaitGroup
}

// RedisOptions tune a Redis store; the zero value is the production one.
type RedisOptions struct {
	// Prefix begins every key (default "govmobile:rl:"); redis_rate puts
	// "rate:" before it, so a limiter's keys read
	// rate:govmobile:rl:ip:203.0.113.7 and rate:govmobile:rl:t:<digest>.
	Prefix string
	// Timeout bounds one call to Redis (default 50 ms); past it the request
	// is decided in-process.
	Timeout time.Duration
	// ProbeInterval is how often an unavailable Redis is tried again
	// (default 2 s).
	ProbeInterval time.Duration
	Logger        *slog.Logger
}

// DefaultPrefix begins the keys of the platform's limiters.
const DefaultPrefix = "govmobile:rl:"

// ParseRedisURL reads a redis:// or rediss:// address
// (redis://[user:password@]host:port/db). Its error never repeats the
// address, which may hold a password.
func ParseRedisURL(raw string) (*redis.Options, error) {
	opt, err := redis.ParseURL(raw)
	if err != nil {
		// The parser's message may quote part of the address (a password
		// with a slash in it): it is not passed on.
		return nil, errors.New("want redis://[user:password@]host:port/db or rediss://…")
	}
	return opt, nil
}

// OpenRedis connects to the Redis at rawURL. An unreachable Redis is not
// an error: the store starts unavailable and finds Redis when it answers.
func OpenRedis(rawURL string, o RedisOptions) (*Redis, error) {
	opt, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	tune(opt)
	quietRedis.Do(func() { redis.SetLogger(debugLog{}) })
	return NewRedis(redis.NewClient(opt), o), nil
}

// quietRedis sends go-redis's own log lines (one per failed dial, every
// probe of an outage) to slog at debug level: the store logs an outage
// once, and the log stays structured. The setting is go-redis's, for every
// client in the process (the bus sets the same).
var quietRedis sync.Once

type debugLog struct{}

func (debugLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// tune bounds the client's waits for the request path.
func tune(opt *redis.Options) {
	// Without this go-redis ignores the calls' deadlines and waits out its
	// own 3 s read timeout: a stalled Redis would stall every request.
	opt.ContextTimeoutEnabled = true
	// One dial a call and one retry (a pooled connection Redis closed): a
	// call fails fast and falls back, rather than retrying within its
	// 50 ms; the probe tries again.
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
}

// NewRedis wraps a client, which Close closes. The client must have
// ContextTimeoutEnabled set, or calls wait out its read timeout
// (OpenRedis sets it).
func NewRedis(client *redis.Client, o RedisOptions) *Redis {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout <= 0 {
		o.Timeout = 50 * time.Millisecond
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	r := &Redis{client: client, gcra: redis_rate.NewLimiter(client), opts: o, log: o.Logger, closed: make(chan struct{})}
	// The first probe decides the starting state; it may take longer than a
	// request's call (a first connection), but not much.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	err := r.probe(ctx)
	cancel()
	r.up.Store(true)
	if err != nil {
		r.down(err)
	}
	return r
}

// Limiter returns a limiter of perSecond tokens a second, burst at most,
// whose buckets are in Redis. perSecond ≤ 0 lets everything through.
func (r *Redis) Limiter(perSecond float64, burst int) Limiter {
	if burst < 1 {
		burst = 1
	}
	l := &RedisLimiter{store: r, local: NewLocal(perSecond, burst), on: perSecond > 0}
	if l.on {
		l.limit = gcraLimit(perSecond, burst)
	}
	return l
}

// gcraLimit expresses perSecond as redis_rate's whole number of events per
// period: n per second when perSecond is whole, otherwise one per
// 1/perSecond (2.5 a second is one every 400 ms).
func gcraLimit(perSecond float64, burst int) redis_rate.Limit {
	if perSecond >= 1 && perSecond == math.Trunc(perSecond) && perSecond <= math.MaxInt32 {
		return redis_rate.Limit{Rate: int(perSecond), Period: time.Second, Burst: burst}
	}
	period := time.Duration(float64(time.Second) / perSecond)
	if period < time.Microsecond {
		period = time.Microsecond
	}
	return redis_rate.Limit{Rate: 1, Period: period, Burst: burst}
}

// RedisLimiter is a Limiter whose buckets are in a Redis store, and in this
// process while the store is unavailable.
type RedisLimiter struct {
	store *Redis
	limit redis_rate.Limit
	local *Local
	on    bool
}

// Allow implements Limiter.
func (l *RedisLimiter) Allow(key string) (bool, time.Duration) {
	if !l.on {
		return true, 0
	}
	r := l.store
	if r.up.Load() {
		ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
		res, err := r.gcra.Allow(ctx, r.opts.Prefix+key, l.limit)
		cancel()
		if err == nil {
			r.failed.Store(0)
			if res.Allowed > 0 {
				return true, 0
			}
			return false, max(res.RetryAfter, time.Millisecond)
		}
		// One slow answer (a pause on a busy machine) is decided here
		// without giving the store up; a few in a row are an outage.
		if r.failed.Add(1) >= failuresForOutage {
			r.down(err)
		}
	}
	r.local.Add(1)
	return l.local.Allow(key)
}

// failuresForOutage is how many calls failing in a row mark the store
// unavailable.
const failuresForOutage = 3

// down marks the store unavailable, logs the outage's start once and
// starts the probe.
func (r *Redis) down(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.up.Load() {
		r.up.Store(false)
		r.since = time.Now()
		r.log.Warn("shared rate-limit store (Redis) unavailable: counting in this process until it answers", "err", err)
	}
	select {
	case <-r.closed:
		return
	default:
	}
	if !r.probing {
		r.probing = true
		r.wg.Add(1)
		go r.probeUntilUp()
	}
}

// probeUntilUp tries Redis every ProbeInterval until it answers.
func (r *Redis) probeUntilUp() {
	defer r.wg.Done()
	tick := time.NewTicker(r.opts.ProbeInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.closed:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(r.opts.Timeout, 500*time.Millisecond))
		err := r.probe(ctx)
		cancel()
		if err != nil {
			continue
		}
		r.mu.Lock()
		r.probing = false
		r.failed.Store(0)
		r.up.Store(true)
		r.log.Info("shared rate-limit store (Redis) answers again: limits count across replicas", "outage", time.Since(r.since).Round(time.Millisecond).String())
		r.mu.Unlock()
		return
	}
}

// probe runs the limiter's own script on a key of its own, so a Redis
// that answers PING but cannot run it (a read-only replica, out of memory)
// is not taken back.
func (r *Redis) probe(ctx context.Context) error {
	_, err := r.gcra.Allow(ctx, r.opts.Prefix+"probe", redis_rate.PerSecond(1000))
	return err
}

// Available says whether limits count across replicas now.
func (r *Redis) Available() bool { return r.up.Load() }

// Ready is the readiness check: an error while limits count in-process.
func (r *Redis) Ready(context.Context) error {
	if !r.up.Load() {
		return errors.New("shared rate-limit store unavailable: counting in this process")
	}
	return nil
}

// Status is readiness's detail: where limits count now.
func (r *Redis) Status() any {
	if r.up.Load() {
		return map[string]any{"counting": "shared"}
	}
	r.mu.Lock()
	since := r.since
	r.mu.Unlock()
	return map[string]any{"counting": "local", "unavailableSeconds": math.Round(time.Since(since).Seconds())}
}

// Collectors are the store's metrics, for the app's registry.
func (r *Redis) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_ratelimit_shared_available",
			Help: "1 when rate limits count across replicas in Redis, 0 while they count in this process."},
			func() float64 {
				if r.up.Load() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "govmobile_ratelimit_local_decisions_total",
			Help: "Rate-limit decisions taken in this process because Redis was unavailable."},
			func() float64 { return float64(r.local.Load()) }),
	}
}

// Close stops the probe and closes the client; a second call does nothing.
func (r *Redis) Close() error {
	var err error
	r.close.Do(func() {
		r.mu.Lock()
		close(r.closed)
		r.mu.Unlock()
		r.wg.Wait()
		err = r.client.Close()
	})
	return err
}
