package carrier_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/logistics/carrier"
)

var secret = []byte("0123456789abcdef-secret")

func TestWebhookSignature(t *testing.T) {
	now := time.Unix(1_780_000_000, 0)
	body := []byte(`{"eventId":"E1","waybillNo":"SB1","status":"PICKED_UP","description":"","location":"","occurredAt":"2026-06-01T00:00:00Z"}`)
	h := http.Header{}
	carrier.SignWebhook(h, secret, body, now)
	// The documented scheme, computed independently.
	want := fmt.Sprintf("%x", gm.HMACSM3(secret, []byte("1780000000\n"+string(body))))
	if h.Get(carrier.HeaderTimestamp) != "1780000000" || h.Get(carrier.HeaderSignature) != want {
		t.Fatalf("headers %v; want timestamp 1780000000 and signature %s", h, want)
	}
	if err := carrier.VerifyWebhook(h, body, secret, now); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(h http.Header, body []byte) ([]byte, time.Time, []byte)
		want   error
	}{
		{"other body", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			return []byte(strings.Replace(string(b), "PICKED_UP", "DELIVERED", 1)), now, secret
		}, carrier.ErrSignature},
		{"other secret", func(h http.Header, b []byte) ([]byte, time.Time, []byte) { return b, now, []byte("another-secret-16") }, carrier.ErrSignature},
		{"uppercase hex decodes the same", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Set(carrier.HeaderSignature, strings.ToUpper(h.Get(carrier.HeaderSignature)))
			return b, now, secret
		}, nil},
		{"truncated signature", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Set(carrier.HeaderSignature, h.Get(carrier.HeaderSignature)[:62])
			return b, now, secret
		}, carrier.ErrSignature},
		{"no signature", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Del(carrier.HeaderSignature)
			return b, now, secret
		}, carrier.ErrMissing},
		{"no timestamp", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Del(carrier.HeaderTimestamp)
			return b, now, secret
		}, carrier.ErrMissing},
		{"300 s late is accepted", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			return b, now.Add(300 * time.Second), secret
		}, nil},
		{"301 s late", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			return b, now.Add(301 * time.Second), secret
		}, carrier.ErrTimestamp},
		{"301 s early", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			return b, now.Add(-301 * time.Second), secret
		}, carrier.ErrTimestamp},
		{"timestamp with a plus sign", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Set(carrier.HeaderTimestamp, "+1780000000")
			return b, now, secret
		}, carrier.ErrTimestamp},
		{"timestamp in milliseconds", func(h http.Header, b []byte) ([]byte, time.Time, []byte) {
			h.Set(carrier.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
			return b, now, secret
		}, carrier.ErrTimestamp},
	}
	for _, c := range cases {
		h := http.Header{}
		carrier.SignWebhook(h, secret, body, now)
		b, at, key := c.mutate(h, body)
		if err := carrier.VerifyWebhook(h, b, key, at); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Errorf("%s: %v; want %v", c.name, err, c.want)
		}
	}
}

// TestRequestSignatureBindsTarget: a captured request cannot be replayed on
// another waybill or with another method.
func TestRequestSignatureBindsTarget(t *testing.T) {
	now := time.Now()
	r := httptest.NewRequest(http.MethodPost, "/v1/waybills/SB1/cancel", nil)
	carrier.SignRequest(r, secret, nil, now)
	if err := carrier.VerifyRequest(r, nil, secret, now); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	other := httptest.NewRequest(http.MethodPost, "/v1/waybills/SB2/cancel", nil)
	other.Header = r.Header.Clone()
	if err := carrier.VerifyRequest(other, nil, secret, now); !errors.Is(err, carrier.ErrSignature) {
		t.Errorf("replayed on another waybill: %v", err)
	}
	get := httptest.NewRequest(http.MethodGet, "/v1/waybills/SB1/cancel", nil)
	get.Header = r.Header.Clone()
	if err := carrier.VerifyRequest(get, nil, secret, now); !errors.Is(err, carrier.ErrSignature) {
		t.Errorf("replayed with another method: %v", err)
	}
}

// TestClientErrors: a refusal carries the status and the code only, never
// the carrier's message (it may quote personal data).
func TestClientErrors(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = r
		if err := carrier.VerifyRequest(r, body, secret, time.Now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.EscapedPath() {
		case "/v1/waybills":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"code":"INVALID_REQUEST","message":"receiver.phone 13812345678 is wrong"}`)
		case "/v1/waybills/A%2FB/cancel":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"already picked up!"}`)
		default:
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, strings.Repeat(" ", 70<<10))
		}
	}))
	defer srv.Close()
	c := carrier.NewClient(srv.URL+"/", secret, nil)
	ctx := context.Background()

	_, err := c.CreateWaybill(ctx, carrier.WaybillRequest{Reference: "R1"})
	var ce *carrier.Error
	if !errors.As(err, &ce) || ce.Status != 400 || ce.Code != "INVALID_REQUEST" || strings.Contains(err.Error(), "138") {
		t.Errorf("create: %v", err)
	}
	err = c.CancelWaybill(ctx, "A/B")
	if !errors.As(err, &ce) || ce.Status != 409 || ce.Code != "" {
		t.Errorf("cancel: %v (path %s)", err, got.URL.EscapedPath())
	}
	if _, err := c.Waybill(ctx, "SB1"); err == nil || !strings.Contains(err.Error(), "over") {
		t.Errorf("oversized answer: %v", err)
	}
	bad := carrier.NewClient(srv.URL, []byte("wrong-secret-0123"), nil)
	if err := bad.CancelWaybill(ctx, "SB1"); !errors.As(err, &ce) || ce.Status != 401 {
		t.Errorf("wrong secret: %v", err)
	}
}
