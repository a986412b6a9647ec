package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"govmobile/outbound"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func get(t *testing.T, c *outbound.Client, url string) (*outbound.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(context.Background(), req)
}

func TestRefusesWhatMustNotBeReached(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"result_code":"100"}`)) }))
	defer srv.Close()
	c := outbound.New(outbound.Config{Timeout: 2 * time.Second})
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, u := range []string{
		srv.URL,                                   // 127.0.0.1, literal
		"http://localhost" + port,                 // a name resolving to loopback: refused when dialled
		"http://[::1]" + port,                     // IPv6 loopback
		"http://[::ffff:127.0.0.1]" + port,        // IPv4-mapped
		"http://169.254.169.254/latest/meta-data", // cloud metadata
		"http://10.0.0.1/", "http://192.168.1.1/", "http://100.64.0.1/", "http://0.0.0.0" + port,
	} {
		if _, err := get(t, c, u); !errors.Is(err, outbound.ErrForbiddenAddress) {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"ftp://example.com/", "file:///etc/passwd", "http://user:pw@example.com/", "not a url"} {
		if err := c.CheckURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := c.CheckURL("https://203.119.0.1/api"); err != nil {
		t.Errorf("a public address refused: %v", err)
	}
	// An allowlist adds to the public addresses; it does not replace them.
	if err := outbound.New(outbound.Config{Allow: loopback}).CheckURL("https://203.119.0.1/api"); err != nil {
		t.Errorf("a public address refused beside an allowlist: %v", err)
	}
	if err := outbound.New(outbound.Config{HTTPSOnly: true}).CheckURL("http://example.com/"); !errors.Is(err, outbound.ErrScheme) {
		t.Errorf("http in production: %v", err)
	}
	// Allowed explicitly, as in tests.
	r, err := get(t, outbound.New(outbound.Config{Allow: loopback}), srv.URL)
	if err != nil || r.Status != 200 || string(r.Body) != `{"result_code":"100"}` {
		t.Fatalf("allowed loopback: %+v %v", r, err)
	}
}

func TestBoundsTimeSizeAndRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 2<<20)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace("http://"+r.Host+"/ok", "127.0.0.1", "localhost", 1), http.StatusFound)
	})
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := outbound.New(outbound.Config{Allow: loopback, Timeout: 500 * time.Millisecond, MaxBody: 1 << 20})
	if _, err := get(t, c, srv.URL+"/big"); !errors.Is(err, outbound.ErrTooLarge) {
		t.Errorf("2 MiB body: %v", err)
	}
	start := time.Now()
	if _, err := get(t, c, srv.URL+"/slow"); err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("slow: %v after %v", err, time.Since(start))
	}
	for _, p := range []string{"/loop", "/away"} {
		if _, err := get(t, c, srv.URL+p); !errors.Is(err, outbound.ErrRedirect) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if r, err := get(t, c, srv.URL+"/here"); err != nil || string(r.Body) != "ok" {
		t.Errorf("a redirect on the same host: %+v %v", r, err)
	}
}
