package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAdmit: past the bound an operation waits a short while and then runs
// anyway; one whose deadline passes in line gets 503, UNAVAILABLE and
// Retry-After; websockets and preflights take no turn.
func TestAdmit(t *testing.T) {
	release := make(chan struct{})
	h := Admit(1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Hold") != "" {
			<-release
		}
		w.WriteHeader(http.StatusOK)
	}))
	holding := make(chan struct{})
	go func() {
		req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		req.Header.Set("X-Hold", "1")
		close(holding)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}()
	<-holding
	time.Sleep(20 * time.Millisecond) // the first holds the only turn

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil).WithContext(ctx))
	var body struct {
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusServiceUnavailable ||
		rec.Header().Get("Retry-After") == "" || len(body.Errors) != 1 || body.Errors[0].Extensions["code"] != "UNAVAILABLE" {
		t.Fatalf("a deadline passed in line: %d %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}

	start := time.Now()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))
	if rec.Code != http.StatusOK || time.Since(start) < AdmissionWait {
		t.Fatalf("over the bound: %d after %s", rec.Code, time.Since(start))
	}

	for _, req := range []*http.Request{httptest.NewRequest(http.MethodOptions, "/graphql", nil), httptest.NewRequest(http.MethodGet, "/graphql", nil)} {
		if req.Method == http.MethodGet {
			req.Header.Set("Upgrade", "websocket")
		}
		start, rec := time.Now(), httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || time.Since(start) > AdmissionWait/2 {
			t.Fatalf("%s %s waited %s", req.Method, strings.Join(req.Header.Values("Upgrade"), ""), time.Since(start))
		}
	}
	close(release)
}
