package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/models"
)

// TestRateLimits (SPEC §4): a client address and a login ticket over their
// rate get 429, RATE_LIMITED and Retry-After before any work is done;
// other clients and the health probes go on; behind a trusted proxy the
// client is the X-Forwarded-For address.
func TestRateLimits(t *testing.T) {
	b, err := newApp("sqlite", func(c *app.Config) {
		c.RateIPPerSecond, c.RateTicketPerSecond = 5, 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.srv.Close(); b.app.Close(); os.RemoveAll(b.dir) }()
	send := func(ip, ticket string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", ip)
		if ticket != "" {
			req.Header.Set("Authorization", "Bearer "+ticket)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	limited := 0
	for range 15 {
		if res := send("203.0.113.7", ""); res.StatusCode == http.StatusTooManyRequests {
			limited++
			if res.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		}
	}
	if limited == 0 || limited > 6 {
		t.Fatalf("%d of 15 requests over a burst of 10 limited", limited)
	}
	if res := send("203.0.113.8", ""); res.StatusCode != 200 {
		t.Fatalf("another client: %d", res.StatusCode)
	}
	if st, _, _ := b.get(t, "/healthz"); st != 200 {
		t.Fatalf("the health probe was limited: %d", st)
	}
	r := b.post(t, []byte(`{"query":"{ __typename }"}`), map[string]string{"X-Forwarded-For": "203.0.113.7"})
	if r.Status != 429 || r.code() != models.ECodeRateLimited {
		t.Fatalf("the limited answer: %d %s", r.Status, r.Raw)
	}

	// A ticket is limited wherever it comes from.
	ticket := b.register(t, map[string]any{"username": "ratelimited_user", "password": "Passw0rd!2026", "userType": "NATURAL_PERSON",
		"realName": "张三", "idNumber": idNumber(t, "330106", "19850101", 77), "phone": "13900007777", "privacyConsent": true}).Ticket
	limited = 0
	for i := range 8 {
		if send(fmt.Sprintf("198.51.100.%d", i+1), ticket).StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("a ticket over its rate from several addresses was never limited")
	}

	// Over a websocket each operation counts, not only the upgrade.
	ws, err := b.ws(t, ticket)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		ws.send(map[string]any{"id": fmt.Sprint(i), "type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}})
	}
	refused := 0
	for range 24 {
		msg, err := ws.read(2 * time.Second)
		if err != nil {
			break
		}
		raw, _ := json.Marshal(msg)
		if strings.Contains(string(raw), "RATE_LIMITED") {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("twelve operations over one websocket were never limited")
	}
}
