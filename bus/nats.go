package bus

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// natsBus is core NATS pub/sub (no JetStream: delivery is at most once, see
// the package comment).
type natsBus struct{ nc *nats.Conn }

var errNotConnected = errors.New("bus: not connected")

func dialNATS(url string, state func(bool), log *slog.Logger) (*natsBus, error) {
	var denied atomic.Bool
	nc, err := nats.Connect(url,
		nats.Name("govmobile"),
		// Reconnect for ever, and start even when the server is down:
		// the replica serves without the bus meanwhile.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		// Nothing is buffered while disconnected: such a publish fails and
		// is delivered locally instead, rather than flushed to every
		// replica later and so delivered twice on this one.
		nats.ReconnectBufSize(-1),
		nats.Timeout(2*time.Second),
		nats.PingInterval(2*time.Second),
		nats.MaxPingsOutstanding(2),
		// A connection that goes silent (a firewall dropping the flow)
		// fills its buffers; a publish then waits for the flusher at most
		// this long instead of a minute, and the request goes on.
		nats.FlusherTimeout(500*time.Millisecond),
		// The client's own complaints (a slow consumer) go nowhere near
		// stderr: the bus's availability is reported by its gauge. A
		// permissions violation is a configuration error, logged once.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrPermissionViolation) && !denied.Swap(true) {
				log.Error("消息总线的 NATS 账号无权发布或订阅本部署的主题（permissions violation）：这是配置错误，请为该账号授予 --bus-prefix 下全部主题的发布和订阅权限；在此之前其他副本收不到这些事件",
					"bus", NATS, "err", err.Error())
			}
		}),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { state(false) }),
		// Subscriptions are sent again before this is called.
		nats.ReconnectHandler(func(*nats.Conn) { state(true) }),
		nats.ConnectHandler(func(*nats.Conn) { state(true) }),
	)
	if err != nil {
		// Only a malformed URL or options fail here (RetryOnFailedConnect).
		// The error may repeat the address, password and all: it is not
		// passed on.
		return nil, errors.New("--nats-url: want nats://[user:password@]host:4222 or tls://…")
	}
	return &natsBus{nc: nc}, nil
}

// publish hands the events to the client's buffer, which its flusher
// goroutine writes out: no round trip each. While disconnected nothing is
// buffered (ReconnectBufSize), so an error means the rest were not sent.
func (n *natsBus) publish(_ context.Context, batch []wire) (int, error) {
	for i, m := range batch {
		if !n.nc.IsConnected() {
			return i, errNotConnected
		}
		if err := n.nc.Publish(m.subject, m.data); err != nil {
			return i, err
		}
	}
	return len(batch), nil
}

func (n *natsBus) subscribe(subject string, h Handler) error {
	_, err := n.nc.Subscribe(subject, func(m *nats.Msg) { h(m.Data) })
	return err
}

func (n *natsBus) healthy(context.Context) bool { return n.nc.IsConnected() }

// close writes out what the client still buffers, then disconnects.
func (n *natsBus) close() error {
	n.nc.Close()
	return nil
}
