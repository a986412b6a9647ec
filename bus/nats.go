package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// natsBus is core NATS pub/sub (no JetStream: delivery is at most once, see
// the package comment).
type natsBus struct{ nc *nats.Conn }

var errNotConnected = errors.New("bus: not connected")

func dialNATS(url string, state func(bool)) (*natsBus, error) {
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
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { state(false) }),
		// Subscriptions are sent again before this is called.
		nats.ReconnectHandler(func(*nats.Conn) { state(true) }),
		nats.ConnectHandler(func(*nats.Conn) { state(true) }),
	)
	if err != nil {
		// Only a malformed URL or options fail here (RetryOnFailedConnect).
		return nil, fmt.Errorf("--nats-url: %w", err)
	}
	return &natsBus{nc: nc}, nil
}

func (n *natsBus) publish(_ context.Context, subject string, payload []byte) error {
	if !n.nc.IsConnected() {
		return errNotConnected
	}
	return n.nc.Publish(subject, payload)
}

func (n *natsBus) subscribe(subject string, h Handler) error {
	_, err := n.nc.Subscribe(subject, func(m *nats.Msg) { h(m.Data) })
	return err
}

func (n *natsBus) healthy(context.Context) bool { return n.nc.IsConnected() }

func (n *natsBus) close() error {
	n.nc.Close()
	return nil
}
