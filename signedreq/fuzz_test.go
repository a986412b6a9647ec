package signedreq

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"govmobile/gm"
)

// FuzzCheck feeds the verifier arbitrary headers, targets and bodies: it
// never panics, and nothing but the one genuinely signed request verifies.
func FuzzCheck(f *testing.F) {
	key, err := gm.GenerateSM2Key()
	if err != nil {
		f.Fatal(err)
	}
	now := time.UnixMilli(1_800_000_000_000)
	f.Add("POST", "/open/v1/user-info", "1800000000000", "0123456789abcdef0123", "MEUCIQ==", []byte(`{"ticket":"x"}`))
	f.Add("GET", "/x?a=1&b=2", "-1", "", "", []byte{})
	f.Add("post", "/%zz", "99999999999999999999999", "n", "@@@", []byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, method, target, ts, nonce, sig string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Method = method
		r.URL.Path, r.URL.RawQuery = target, ""
		r.Header.Set(HeaderAppID, "app")
		r.Header.Set(HeaderTimestamp, ts)
		r.Header.Set(HeaderNonce, nonce)
		r.Header.Set(HeaderSignature, sig)
		if Check(r, body, &key.PublicKey, now) == nil {
			t.Fatalf("a request nobody signed verified: %q %q %q %q", method, target, ts, nonce)
		}
		// The same request signed properly verifies, and a changed body
		// does not.
		if err := Sign(r, body, "app", "", now, func(m []byte) ([]byte, error) { return gm.SM2Sign(key, m) }); err != nil {
			t.Fatal(err)
		}
		if err := Check(r, body, &key.PublicKey, now); err != nil {
			t.Fatalf("a signed request refused: %v", err)
		}
		if Check(r, append(append([]byte{}, body...), 'x'), &key.PublicKey, now) == nil {
			t.Fatal("a changed body verified")
		}
	})
}
