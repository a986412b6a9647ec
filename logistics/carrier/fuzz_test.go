package carrier

import (
	"net/http"
	"testing"
	"time"
)

// FuzzVerifyWebhook feeds the webhook verifier arbitrary headers and
// bodies: it never panics, and only a webhook signed with the secret
// within the window verifies.
func FuzzVerifyWebhook(f *testing.F) {
	secret := []byte("carrier-fuzz-secret-0123456789")
	now := time.Unix(1_800_000_000, 0)
	f.Add("1800000000", "00", []byte(`{"eventId":"e1"}`))
	f.Add("", "", []byte{})
	f.Add("-9999999999999", "zz", []byte{0xff})
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("X-Carrier-Timestamp", ts)
		h.Set("X-Carrier-Signature", sig)
		if VerifyWebhook(h, body, secret, now) == nil && sig != Signature(secret, WebhookMessage(ts, body)) {
			t.Fatalf("a webhook nobody signed verified: %q %q", ts, sig)
		}
		good := http.Header{}
		SignWebhook(good, secret, body, now)
		if err := VerifyWebhook(good, body, secret, now); err != nil {
			t.Fatalf("a signed webhook refused: %v", err)
		}
	})
}
