package signedreq

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"govmobile/gm"
)

func TestStringToSign(t *testing.T) {
	got := string(StringToSign("post", "/bus/line?city=x", 1700000000000, "0123456789abcdef", []byte("abc")))
	want := "POST\n/bus/line?city=x\n1700000000000\n0123456789abcdef\n66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
	if got != want {
		t.Fatalf("string to sign:\n%q\nwant\n%q", got, want)
	}
}

func TestSignAndCheck(t *testing.T) {
	key, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := gm.GenerateSM2Key()
	now := time.Now()
	body := []byte(`{"city":"北京"}`)
	signed := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "https://provider.example/bus/line?q=1", strings.NewReader(string(body)))
		if err := Sign(r, body, "app-1", "k1", now, func(m []byte) ([]byte, error) { return gm.SM2Sign(key, m) }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := Check(signed(), body, &key.PublicKey, now.Add(time.Minute)); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	if r := signed(); r.Header.Get(HeaderKeyID) != "k1" || len(r.Header.Get(HeaderNonce)) < MinNonce {
		t.Fatalf("headers: %v", r.Header)
	}
	cases := map[string]struct {
		mutate func(*http.Request) []byte
		at     time.Time
		want   error
	}{
		"changed body":       {func(*http.Request) []byte { return []byte(`{"city":"上海"}`) }, now, ErrSignature},
		"changed query":      {func(r *http.Request) []byte { r.URL.RawQuery = "q=2"; return body }, now, ErrSignature},
		"changed method":     {func(r *http.Request) []byte { r.Method = http.MethodPut; return body }, now, ErrSignature},
		"stale":              {func(*http.Request) []byte { return body }, now.Add(MaxSkew + time.Second), ErrTimestamp},
		"from the future":    {func(*http.Request) []byte { return body }, now.Add(-MaxSkew - time.Second), ErrTimestamp},
		"short nonce":        {func(r *http.Request) []byte { r.Header.Set(HeaderNonce, "abc"); return body }, now, ErrNonce},
		"no signature":       {func(r *http.Request) []byte { r.Header.Del(HeaderSignature); return body }, now, ErrMissing},
		"signature not b64":  {func(r *http.Request) []byte { r.Header.Set(HeaderSignature, "%%%"); return body }, now, ErrSignature},
		"timestamp not a n°": {func(r *http.Request) []byte { r.Header.Set(HeaderTimestamp, "soon"); return body }, now, ErrTimestamp},
	}
	for name, c := range cases {
		r := signed()
		b := c.mutate(r)
		if err := Check(r, b, &key.PublicKey, c.at); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if err := Check(signed(), body, &other.PublicKey, now); !errors.Is(err, ErrSignature) {
		t.Errorf("another key: %v", err)
	}
}
