package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestDepth(t *testing.T) {
	cases := []struct {
		query string
		want  int
	}{
		{`{ a }`, 1},
		{`{ a { b { c } } }`, 3},
		{`{ a { b } c { d { e } } }`, 3},
		{`{ a { ...F } } fragment F on T { b { c } }`, 3},
		{`{ a { ... on T { b { c { d } } } } }`, 4},
	}
	for _, c := range cases {
		doc, err := parser.ParseQuery(&ast.Source{Input: c.query})
		if err != nil {
			t.Fatal(err)
		}
		// Resolve spreads as the validator would.
		for _, op := range doc.Operations {
			linkFragments(op.SelectionSet, doc.Fragments)
		}
		for _, f := range doc.Fragments {
			linkFragments(f.SelectionSet, doc.Fragments)
		}
		m := &measurer{memo: map[*ast.FragmentDefinition]shape{}}
		if got := m.measure(doc.Operations[0].SelectionSet).depth; got != c.want {
			t.Errorf("depth(%s) = %d, want %d", c.query, got, c.want)
		}
	}
}

func linkFragments(set ast.SelectionSet, frags ast.FragmentDefinitionList) {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			linkFragments(s.SelectionSet, frags)
		case *ast.InlineFragment:
			linkFragments(s.SelectionSet, frags)
		case *ast.FragmentSpread:
			s.Definition = frags.ForName(s.Name)
		}
	}
}

// TestFragmentExplosionIsCheap: fragments spread twice at every level expand
// to 2^n fields; measuring must stay linear in the document.
func TestFragmentExplosionIsCheap(t *testing.T) {
	var q strings.Builder
	q.WriteString("{ ...F0 }\n")
	const n = 60
	for i := 0; i < n; i++ {
		fmt.Fprintf(&q, "fragment F%d on Query { a%d: __typename ...F%d ...F%d }\n", i, i, i+1, i+1)
	}
	fmt.Fprintf(&q, "fragment F%d on Query { __typename }\n", n)
	doc, err := parser.ParseQuery(&ast.Source{Input: q.String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range doc.Fragments {
		linkFragments(f.SelectionSet, doc.Fragments)
	}
	linkFragments(doc.Operations[0].SelectionSet, doc.Fragments)
	start := time.Now()
	m := &measurer{memo: map[*ast.FragmentDefinition]shape{}}
	sh := m.measure(doc.Operations[0].SelectionSet)
	if sh.fields <= MaxFields {
		t.Fatalf("expanded fields %d not over the limit", sh.fields)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("measuring took %v", d)
	}
}

func TestGuardDeadline(t *testing.T) {
	var deadline time.Time
	h := Guard(Limits{MaxBodyBytes: 1 << 10, Timeout: 50 * time.Millisecond}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, _ = r.Context().Deadline()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
			t.Error("request outlived its deadline")
		}
	}))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/graphql?query={a}", nil))
	if deadline.IsZero() || time.Since(start) > 2*time.Second {
		t.Fatal("no per-request deadline")
	}
}

func TestGuardBody(t *testing.T) {
	h := Guard(Limits{MaxBodyBytes: 80, Timeout: time.Second}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if string(requestBody(r)) == "" {
			t.Error("body not kept for the cache")
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	cases := []struct {
		body   string
		status int
	}{
		{`{"query":"{a}"}`, http.StatusNoContent},
		{`[{"query":"{a}"}]`, http.StatusBadRequest},
		{`{"query":123}`, http.StatusBadRequest},
		{`{"query":"{a}","operationName":1}`, http.StatusBadRequest},
		{`{"query":"{a}","variables":[1]}`, http.StatusBadRequest},
		{`{"variables":{}}`, http.StatusBadRequest},
		{`{"query":`, http.StatusBadRequest},
		{`42`, http.StatusBadRequest},
		{`{"query":"` + strings.Repeat("a", 100) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%.20s: status %d, want %d", c.body, rec.Code, c.status)
		}
		if c.status >= 400 && !strings.Contains(rec.Body.String(), `"BAD_USER_INPUT"`) {
			t.Errorf("%.20s: body %s", c.body, rec.Body)
		}
	}
}

func TestCacheableOnlyPublicQueries(t *testing.T) {
	c := NewResponseCache([]string{"matters", "regions"}, func() uint64 { return 1 }, time.Minute, 1<<20)
	cases := map[string]bool{
		`{"query":"{ matters { totalCount } }"}`:                                             true,
		`{"query":"query Q { regions { code } matters { totalCount } }"}`:                    true,
		`{"query":"{ me { username } }"}`:                                                    false,
		`{"query":"{ regions { code } me { username } }"}`:                                   false,
		`{"query":"mutation { logout }"}`:                                                    false,
		`{"query":"{ ... on Query { me { username } } }"}`:                                   false,
		`{"query":"{ node(id: \"x\") { id } }"}`:                                             false,
		`{"query":"{ matters { totalCount } }","extensions":{"persisted":1}}`:                false,
		`{"query":"query A { regions { code } } query B { me { id } }","operationName":"B"}`: false,
		`{"query":"{ regions { code "}`:                                                      false,
	}
	for body, want := range cases {
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if got := c.cacheable(req, []byte(body)); got != want {
			t.Errorf("cacheable(%s) = %v, want %v", body, got, want)
		}
	}
	_ = context.Background()
}

func TestResponseCacheBounded(t *testing.T) {
	gen := uint64(1)
	c := NewResponseCache([]string{"regions"}, func() uint64 { return gen }, time.Minute, 10<<10)
	calls := 0
	h := Guard(Limits{MaxBodyBytes: 1 << 20, Timeout: time.Second}, c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"data":{"regions":"` + strings.Repeat("x", 1000) + `"}}`))
	})))
	for i := 0; i < 100; i++ {
		body := `{"query":"{ regions { code } }","variables":{"i":` + strings.Repeat("1", i/2+1) + `}}`
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if c.size > c.MaxBytes {
		t.Fatalf("cache holds %d bytes, budget %d", c.size, c.MaxBytes)
	}
	if calls != 50 {
		t.Fatalf("%d of 100 requests reached the handler; every second one should have been a hit", calls)
	}
}

func TestUncacheableRequestsLeaveNothing(t *testing.T) {
	c := NewResponseCache([]string{"regions"}, func() uint64 { return 1 }, time.Minute, 1<<20)
	h := Guard(Limits{MaxBodyBytes: 1 << 20, Timeout: time.Second}, c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"data":{}}`))
	})))
	for i := 0; i < 100; i++ {
		body := fmt.Sprintf(`{"query":"{ me { id } } # %d"}`, i)
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if n := c.cache.Len(); n != 0 || c.size != 0 {
		t.Fatalf("uncacheable requests left %d entries, %d bytes", n, c.size)
	}
}
