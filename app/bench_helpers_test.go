package app_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"govmobile/models"
)

// benchBackend starts a server on MariaDB when TEST_MYSQL_DSN is set, on
// SQLite otherwise, removed when the benchmark ends, and picks a matter that
// takes online applications.
func benchBackend(b *testing.B) (*backend, models.Matter) {
	name := "sqlite"
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		name = "mysql"
	}
	be, err := newApp(name, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.srv.Close(); be.app.Close(); os.RemoveAll(be.dir) })
	var m models.Matter
	if err := be.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
		b.Fatal(err)
	}
	return be, m
}

// reportLatency reports the median, 95th percentile and maximum of took.
func reportLatency(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(took[len(took)/2]), "p50-ms")
	b.ReportMetric(ms(took[len(took)*95/100]), "p95-ms")
	b.ReportMetric(ms(took[len(took)-1]), "max-ms")
}

// liveStream reads a websocket in its own goroutine: a read that times out
// closes the socket, so waiting with a deadline is done on the channel.
type liveStream struct{ ch chan map[string]any }

func (c *wsClient) stream() *liveStream {
	s := &liveStream{ch: make(chan map[string]any, 64)}
	go func() {
		defer close(s.ch)
		for {
			m, err := c.read(time.Minute)
			if err != nil {
				return
			}
			s.ch <- m
		}
	}()
	return s
}

// wait takes the next message, if one comes within d.
func (s *liveStream) wait(d time.Duration) (map[string]any, bool) {
	select {
	case m, ok := <-s.ch:
		return m, ok
	case <-time.After(d):
		return nil, false
	}
}

// warmUp runs step(0), step(1), … (at most tries) until a message arrives
// — graphql-transport-ws does not acknowledge a subscription, so this shows
// it is live — then drops any late ones, so none is taken for a timed one.
func (s *liveStream) warmUp(b testing.TB, tries int, step func(i int)) {
	live := false
	for i := 0; i < tries && !live; i++ {
		step(i)
		_, live = s.wait(500 * time.Millisecond)
	}
	if !live {
		b.Fatal("the subscription never received a message")
	}
	for {
		if _, ok := s.wait(100 * time.Millisecond); !ok {
			return
		}
	}
}
