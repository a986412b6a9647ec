package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestRealIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	var got string
	h := RealIP(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = peerIP(r) }))
	for _, c := range []struct {
		name, remote, xff, want string
	}{
		{"straight from the internet: the header is ignored", "203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},
		{"through the load balancer", "10.1.2.3:80", "198.51.100.1", "198.51.100.1"},
		{"a forged hop before the real client", "10.1.2.3:80", "1.2.3.4, 198.51.100.1", "198.51.100.1"},
		{"two trusted hops", "127.0.0.1:80", "198.51.100.1, 10.9.9.9", "198.51.100.1"},
		{"a malformed hop stops the walk", "10.1.2.3:80", "198.51.100.1, not-an-ip", "10.1.2.3"},
		{"no header", "10.1.2.3:80", "", "10.1.2.3"},
		{"IPv6 client", "10.1.2.3:80", "2001:db8::1", "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
