package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisBus is Redis pub/sub: PUBLISH through the client's pool, one
// subscribing connection read by one goroutine. go-redis reconnects that
// connection and subscribes again to its channels on the read after an
// error; the loop below drives those reads and watches the connection with
// pings.
type redisBus struct {
	client *redis.Client
	state  func(bool)
	every  time.Duration

	mu       sync.Mutex
	ps       *redis.PubSub
	handlers map[string]Handler
	started  bool
	// confirmed counts the channels the server has confirmed since the
	// subscribing connection was last (re)made; subscribed is set once all
	// are.
	confirmed  int
	subscribed atomic.Bool
	// heard is when the subscribing connection last delivered anything
	// (a message, a confirmation, a pong: it is pinged when quiet).
	heard atomic.Int64

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func dialRedis(url string, state func(bool), every time.Duration) (*redisBus, error) {
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
	r := &redisBus{client: redis.NewClient(opt), state: state, every: every, handlers: map[string]Handler{}, done: make(chan struct{})}
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

// publishTimeout bounds a PUBLISH, which runs in the request that caused
// the event: a silent Redis costs a request this long at most before the
// bus falls back to local delivery.
const publishTimeout = 250 * time.Millisecond

func (r *redisBus) publish(ctx context.Context, subject string, payload []byte) error {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	return r.client.Publish(ctx, subject, payload).Err()
}

func (r *redisBus) subscribe(subject string, h Handler) error {
	r.mu.Lock()
	r.handlers[subject] = h
	start := !r.started
	r.started = true
	r.subscribed.Store(false) // until the server confirms the new channel too
	r.mu.Unlock()
	// A server that cannot be reached now is not an error: go-redis keeps
	// the channel and subscribes on the next connection.
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	_ = r.pubsub().Subscribe(ctx, subject)
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
		ps := r.pubsub()
		msg, err := ps.ReceiveTimeout(r.ctx, 2*r.every)
		if err != nil {
			if r.ctx.Err() != nil {
				return
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
				r.mu.Lock()
				r.confirmed++
				if r.confirmed >= len(r.handlers) {
					r.subscribed.Store(true)
				}
				r.mu.Unlock()
			}
		}
	}
}

// lost marks the subscribing connection gone until the server confirms
// the channels again.
func (r *redisBus) lost() {
	r.mu.Lock()
	r.confirmed = 0
	r.subscribed.Store(false)
	r.mu.Unlock()
	r.state(false)
}

// replace closes the subscribing connection and opens another on the same
// channels.
func (r *redisBus) replace() {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.ps.Close()
	r.ps = r.client.Subscribe(r.ctx)
	for ch := range r.handlers {
		ctx, cancel := context.WithTimeout(r.ctx, time.Second)
		_ = r.ps.Subscribe(ctx, ch) // kept for the next connection when it fails
		cancel()
	}
}

func (r *redisBus) healthy(ctx context.Context) bool {
	if err := r.client.Ping(ctx).Err(); err != nil {
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
	if cerr := r.client.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("close redis bus: %w", err)
	}
	return nil
}
