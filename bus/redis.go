package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisBus is Redis pub/sub: PUBLISH through the client's pool (pipelined,
// a batch at a time), one subscribing connection read by one goroutine.
// go-redis reconnects that connection and subscribes again to its channels
// on the read after a network error; the loop below drives those reads,
// watches the connection with pings, and sends the channels again on a
// fresh connection when a live one holds them unconfirmed (the server
// refused a SUBSCRIBE: NOPERM, LOADING, or another error reply, which
// go-redis does not treat as a broken connection).
type redisBus struct {
	client *redis.Client
	state  func(bool)
	every  time.Duration
	// probe is the channel healthy publishes to: a PUBLISH checks the
	// connection and the account's right to the deployment's channels.
	probe string
	log   *slog.Logger
	// denied is set once NOPERM is logged, until the channels are
	// confirmed again.
	denied atomic.Bool

	mu       sync.Mutex
	ps       *redis.PubSub
	handlers map[string]Handler
	started  bool
	// confirmed holds the channels the server has confirmed since the
	// subscribing connection was last (re)made; subscribed is set once it
	// holds them all.
	confirmed  map[string]bool
	subscribed atomic.Bool
	// sentAt is when the channels were last sent on a fresh connection;
	// retry is how long the loop waits, after that, for them to be
	// confirmed before sending them again (doubling up to maxRetry).
	sentAt time.Time
	retry  time.Duration
	// heard is when the subscribing connection last delivered anything
	// (a message, a confirmation, a pong or an error reply: it is pinged
	// when quiet).
	heard atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	subs   sync.WaitGroup // SUBSCRIBEs in flight
}

func dialRedis(url string, state func(bool), every time.Duration, probe string, log *slog.Logger) (*redisBus, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("--redis-url: not a redis:// or rediss:// URL")
	}
	opt.DialTimeout = 2 * time.Second
	opt.ReadTimeout = 2 * time.Second
	opt.WriteTimeout = 2 * time.Second
	opt.MaxRetries = 1
	// Calls keep their contexts' deadlines (publishTimeout), not only the
	// client's read and write timeouts.
	opt.ContextTimeoutEnabled = true
	opt.DialerRetries = 2
	quietRedis.Do(func() { redis.SetLogger(debugLog{}) })
	r := &redisBus{client: redis.NewClient(opt), state: state, every: every, probe: probe, log: log,
		handlers: map[string]Handler{}, confirmed: map[string]bool{}, retry: every, done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.ps = r.client.Subscribe(r.ctx) // no channel yet: does not connect
	return r, nil
}

// quietRedis sends go-redis's own log lines (one per failed dial, every
// probe of an outage) to slog at debug level: the bus logs an outage once.
// The setting is go-redis's, for every client in the process.
var quietRedis sync.Once

type debugLog struct{}

func (debugLog) Printf(ctx context.Context, format string, v ...any) {
	slog.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

// publish sends the batch in one pipeline: one round trip for all.
func (r *redisBus) publish(ctx context.Context, batch []wire) (int, error) {
	cmds, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range batch {
			p.Publish(ctx, m.subject, m.data)
		}
		return nil
	})
	if err == nil {
		return len(batch), nil
	}
	r.refused(err)
	n := 0
	for _, c := range cmds {
		if c.Err() != nil {
			break
		}
		n++
	}
	return n, err
}

// subscribe records the channel and sends SUBSCRIBE from a goroutine: the
// caller may hold the startup lock, which a slow or unreachable server
// must not hold with it. go-redis keeps a channel whose SUBSCRIBE failed
// and subscribes on its next connection; the loop sends again a channel a
// live connection has not confirmed.
func (r *redisBus) subscribe(subject string, h Handler) error {
	r.mu.Lock()
	r.handlers[subject] = h
	r.subscribed.Store(false) // until the server confirms the new channel too
	start := !r.started
	r.started = true
	ps := r.ps
	r.sentAt = time.Now()
	r.subs.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.subs.Done()
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		defer cancel()
		_ = ps.Subscribe(ctx, subject)
	}()
	if start {
		go r.receive()
	}
	return nil
}

func (r *redisBus) pubsub() *redis.PubSub {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ps
}

// receive reads the subscribing connection until close.
func (r *redisBus) receive() {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	pinged := false
	for r.ctx.Err() == nil {
		r.resend()
		ps := r.pubsub()
		msg, err := ps.ReceiveTimeout(r.ctx, 2*r.every)
		if err != nil {
			if r.ctx.Err() != nil {
				return
			}
			var rerr redis.Error
			if errors.As(err, &rerr) {
				// An error reply (to a SUBSCRIBE or a ping): the server
				// answers on this connection, which go-redis keeps. What
				// it refused is sent again by resend.
				r.heard.Store(time.Now().UnixNano())
				pinged = false
				r.refused(err)
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if !pinged {
					// Quiet: the server answers a ping on a working
					// connection (read as a *redis.Pong).
					pinged = true
					if ps.Ping(r.ctx) == nil {
						continue
					}
				} else {
					// Silent past a ping: a connection that will not
					// fail by itself. Start over on a fresh one.
					r.replace()
				}
			}
			// Otherwise go-redis has dropped the connection, and dials and
			// subscribes again on the next read.
			r.lost()
			pinged = false
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, r.every)
			continue
		}
		backoff, pinged = 100*time.Millisecond, false
		r.heard.Store(time.Now().UnixNano())
		switch m := msg.(type) {
		case *redis.Message:
			r.mu.Lock()
			h := r.handlers[m.Channel]
			r.mu.Unlock()
			if h != nil {
				h([]byte(m.Payload))
			}
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				r.confirm(m.Channel)
			}
		}
	}
}

// confirm records a channel the server confirmed.
func (r *redisBus) confirm(channel string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.handlers[channel]; !ok {
		return
	}
	r.confirmed[channel] = true
	if len(r.confirmed) == len(r.handlers) {
		r.subscribed.Store(true)
		r.retry = r.every
		r.denied.Store(false)
	}
}

// maxRetry bounds the wait between two attempts at channels a live
// connection has not confirmed (an account without the right to them).
const maxRetry = 30 * time.Second

// resend sends the channels again on a fresh connection when the live one
// has not confirmed them all in time. A connection that is not live
// (not heard lately) is left to go-redis, which subscribes again when it
// reconnects.
func (r *redisBus) resend() {
	if r.subscribed.Load() || time.Since(time.Unix(0, r.heard.Load())) > 3*r.every {
		return
	}
	r.mu.Lock()
	due := len(r.handlers) > 0 && time.Since(r.sentAt) > r.retry
	if due {
		r.retry = min(2*r.retry, max(maxRetry, r.every))
	}
	r.mu.Unlock()
	if due {
		r.replace()
	}
}

// refused reports an error reply that is a configuration error: the
// account may not use the deployment's channels (an ACL without them).
// It is logged once, until the channels are confirmed; the bus stays
// unavailable and keeps trying, so that granting the right is enough.
func (r *redisBus) refused(err error) {
	if !redis.HasErrorPrefix(err, "NOPERM") {
		return
	}
	r.state(false)
	if r.denied.Swap(true) {
		return
	}
	r.log.Error("消息总线的 Redis 账号无权使用本部署的频道（NOPERM）：这是配置错误，请在 Redis ACL 中为该账号授予 --bus-prefix 下全部频道的权限；在此之前实时事件只投递给本副本的订阅者，总线会持续重试",
		"bus", Redis, "channels", r.probe[:len(r.probe)-len("_probe")]+"*", "err", err.Error())
}

// lost marks the subscribing connection gone until the server confirms
// the channels again.
func (r *redisBus) lost() {
	r.mu.Lock()
	clear(r.confirmed)
	r.subscribed.Store(false)
	r.sentAt = time.Now() // go-redis subscribes again on reconnecting
	r.mu.Unlock()
	r.state(false)
}

// replace closes the subscribing connection and opens another on the same
// channels. Only the receiving goroutine calls it.
func (r *redisBus) replace() {
	r.mu.Lock()
	old := r.ps
	r.ps = r.client.Subscribe(r.ctx)
	ps := r.ps
	channels := slices.Collect(maps.Keys(r.handlers))
	clear(r.confirmed)
	r.subscribed.Store(false)
	r.sentAt = time.Now()
	r.mu.Unlock()
	_ = old.Close()
	if len(channels) > 0 {
		ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
		_ = ps.Subscribe(ctx, channels...) // kept for the next connection when it fails
		cancel()
	}
}

func (r *redisBus) healthy(ctx context.Context) bool {
	if err := r.client.Publish(ctx, r.probe, "").Err(); err != nil {
		r.refused(err)
		return false
	}
	r.mu.Lock()
	any := len(r.handlers) > 0
	r.mu.Unlock()
	// A connection quiet for longer than a ping takes may be dead without
	// having failed yet.
	quiet := time.Since(time.Unix(0, r.heard.Load()))
	return !any || r.subscribed.Load() && quiet < 5*r.every
}

func (r *redisBus) close() error {
	r.cancel()
	err := r.pubsub().Close()
	r.mu.Lock()
	started := r.started
	r.mu.Unlock()
	if started {
		<-r.done
	}
	r.subs.Wait()
	if cerr := r.client.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close redis bus: %w", err)
	}
	return nil
}
