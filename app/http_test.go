package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/models"
	"govmobile/privacy"
)

func TestMalformedRequests(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		cases := []struct {
			name   string
			body   string
			status int
		}{
			{"not json", `{"query": "{ regions { code } }"`, http.StatusBadRequest},
			{"plain text", `hello`, http.StatusBadRequest},
			{"empty", ``, http.StatusBadRequest},
			{"json string", `"{ regions { code } }"`, http.StatusBadRequest},
			{"batch", `[{"query": "{ regions { code } }"}]`, http.StatusBadRequest},
			{"query not a string", `{"query": 123}`, http.StatusBadRequest},
			{"operationName not a string", `{"query": "{ regions { code } }", "operationName": 1}`, http.StatusBadRequest},
			{"variables not an object", `{"query": "{ regions { code } }", "variables": "x"}`, http.StatusBadRequest},
			{"no query", `{"variables": {}}`, http.StatusBadRequest},
			{"overlong query", `{"query": "{ regions { code } } #` + strings.Repeat("x", 40<<10) + `"}`, http.StatusBadRequest},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := b.post(t, []byte(c.body), nil)
				if r.Status != c.status {
					t.Fatalf("status %d, want %d: %s", r.Status, c.status, r.Raw)
				}
				expectCode(t, r, models.ECodeBadUserInput)
			})
		}
		t.Run("oversized body", func(t *testing.T) {
			big := `{"query": "{ regions { code } }", "variables": {"x": "` + strings.Repeat("a", 2<<20) + `"}}`
			r := b.post(t, []byte(big), nil)
			if r.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", r.Status)
			}
			expectCode(t, r, models.ECodeBadUserInput)
		})
		t.Run("syntax error", func(t *testing.T) {
			expectCode(t, b.gql(t, "", `{ regions { code `, nil), models.ECodeBadUserInput)
		})
		t.Run("unknown field", func(t *testing.T) {
			expectCode(t, b.gql(t, "", `{ regions { code colour } }`, nil), models.ECodeBadUserInput)
		})
		t.Run("too deep", func(t *testing.T) {
			q := `{ regions { ` + strings.Repeat(`parent { `, 15) + `code` + strings.Repeat(` }`, 15) + ` } }`
			r := b.gql(t, "", q, nil)
			expectCode(t, r, models.ECodeBadUserInput)
			if r.Errors[0].Extensions["reason"] != "DEPTH_LIMIT_EXCEEDED" {
				t.Fatalf("reason: %s", r.Raw)
			}
		})
		t.Run("too complex", func(t *testing.T) {
			var q strings.Builder
			q.WriteString("{")
			for i := 0; i < 10; i++ {
				q.WriteString(` m` + string(rune('a'+i)) + `: matters(first: 100) { edges { node { name agency { name } themes { name } halls { name } } } }`)
			}
			q.WriteString("}")
			r := b.gql(t, "", q.String(), nil)
			expectCode(t, r, models.ECodeBadUserInput)
			if r.Errors[0].Extensions["reason"] != "COMPLEXITY_LIMIT_EXCEEDED" {
				t.Fatalf("reason: %s", r.Raw)
			}
		})
		t.Run("introspection off in production", func(t *testing.T) {
			expectCode(t, b.gql(t, "", `{ __schema { types { name } } }`, nil), models.ECodeForbidden)
			expectCode(t, b.gql(t, "", `{ __type(name: "Matter") { name } }`, nil), models.ECodeForbidden)
			expectCode(t, b.gql(t, "", `{ ...F } fragment F on Query { __schema { queryType { name } } }`, nil), models.ECodeForbidden)
			expectCode(t, b.gql(t, "", `{ ... on Query { __type(name: "Matter") { name } } }`, nil), models.ECodeForbidden)
		})
		t.Run("fragment explosion", func(t *testing.T) {
			var q strings.Builder
			q.WriteString("{ ...F0 }\n")
			for i := 0; i < 40; i++ {
				fmt.Fprintf(&q, "fragment F%d on Query { a%d: __typename ...F%d ...F%d }\n", i, i, i+1, i+1)
			}
			q.WriteString("fragment F40 on Query { __typename }\n")
			start := time.Now()
			r := b.gql(t, "", q.String(), nil)
			expectCode(t, r, models.ECodeBadUserInput)
			if time.Since(start) > 5*time.Second {
				t.Fatalf("refusing took %v", time.Since(start))
			}
		})
		t.Run("many aggregations", func(t *testing.T) {
			var q strings.Builder
			q.WriteString("{")
			for i := 0; i < 200; i++ {
				fmt.Fprintf(&q, " n%d: navigation(dimension: THEME) { count }", i)
			}
			q.WriteString(" }")
			expectCode(t, b.gql(t, "", q.String(), nil), models.ECodeBadUserInput)
		})
		t.Run("wrong method and content type", func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPut, b.srv.URL+"/graphql", strings.NewReader(`{"query":"{ regions { code } }"}`))
			req.Header.Set("Content-Type", "application/json")
			checkRaw(t, req, http.StatusMethodNotAllowed)
			req, _ = http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", strings.NewReader(`{ regions { code } }`))
			req.Header.Set("Content-Type", "text/plain")
			checkRaw(t, req, http.StatusUnsupportedMediaType)
			req, _ = http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?query="+url.QueryEscape(`mutation { logout }`), nil)
			checkRaw(t, req, http.StatusMethodNotAllowed)
			req, _ = http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", strings.NewReader(`{"query":"{ regions { code } }"}`))
			req.Header.Set("Content-Type", "application/json; charset")
			checkRaw(t, req, http.StatusUnsupportedMediaType)
			for _, v := range []string{"{bad", "[1]"} {
				req, _ = http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?query="+url.QueryEscape(`{ regions { code } }`)+"&variables="+url.QueryEscape(v), nil)
				checkRaw(t, req, http.StatusBadRequest)
			}
			req, _ = http.NewRequest(http.MethodGet, b.srv.URL+"/graphql?query="+url.QueryEscape(`{ regions { code } }`), nil)
			req.Header.Set("Upgrade", "websocket")
			req.Header.Set("Connection", "Upgrade")
			checkRaw(t, req, http.StatusBadRequest)
		})
		t.Run("internal details hidden", func(t *testing.T) {
			r := b.gql(t, "", `{ matters(first: 1, filter: {regionCode: "abc"}) { totalCount } }`, nil)
			for _, leak := range []string{"sql", "SQL", "gorm", "goroutine", ".go:"} {
				if bytes.Contains(r.Raw, []byte(leak)) {
					t.Fatalf("response leaks %q: %s", leak, r.Raw)
				}
			}
		})
	})
}

// checkRaw sends a request and expects a status with a BAD_USER_INPUT body.
func checkRaw(t *testing.T, req *http.Request, status int) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body gqlResponse
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &body)
	body.Raw = raw
	if res.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, res.StatusCode, status, raw)
	}
	expectCode(t, &body, models.ECodeBadUserInput)
}

func TestOperationalEndpoints(t *testing.T) {
	b := allBackends(t)[0]
	if code, _, body := b.get(t, "/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, _, body := b.get(t, "/readyz"); code != 200 || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	code, h, body := b.get(t, "/privacy")
	if code != 200 || h.Get("X-Privacy-Policy-Version") != privacy.Version || !strings.Contains(body, "隐私政策") || !strings.Contains(body, privacy.Version) {
		t.Fatalf("/privacy: %d %s", code, body)
	}
	b.gql(t, "", `query Home { regions { code } }`, nil)
	code, _, body = b.get(t, "/metrics")
	for _, m := range []string{"govmobile_db_queries_total", "govmobile_graphql_operation_duration_seconds", `operation="Home"`, "govmobile_http_requests_total"} {
		if code != 200 || !strings.Contains(body, m) {
			t.Fatalf("/metrics lacks %s", m)
		}
	}
	// Production mode: no GraphiQL.
	if code, _, _ := b.get(t, "/graphiql"); code != http.StatusNotFound {
		t.Fatalf("/graphiql in production: %d", code)
	}
	// Every response carries a request ID; GraphQL answers are never stored
	// by intermediaries.
	r := b.gql(t, "", `{ regions { code } }`, nil)
	if len(r.Header.Get("X-Request-ID")) < 8 || r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %v", r.Header)
	}
}

// TestGraphiQLServedFromBinary: in dev mode GraphiQL loads every asset from
// this server, none from a CDN, and introspection answers.
func TestGraphiQLServedFromBinary(t *testing.T) {
	b, err := newApp("sqlite", func(c *app.Config) { c.Dev = true; c.SkipDemo = true })
	if err != nil {
		t.Fatal(err)
	}
	defer b.srv.Close()
	defer b.app.Close()
	code, _, page := b.get(t, "/graphiql")
	if code != 200 || !strings.Contains(page, "/graphiql/static/graphiql.min.js") {
		t.Fatalf("/graphiql: %d", code)
	}
	for _, cdn := range []string{"cdn.jsdelivr", "unpkg.com", "https://"} {
		if strings.Contains(page, cdn) {
			t.Fatalf("GraphiQL page references %s", cdn)
		}
	}
	for _, asset := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "plugin-explorer.umd.js", "plugin-explorer.css"} {
		if !strings.Contains(page, "/graphiql/static/"+asset) {
			t.Fatalf("page does not load %s", asset)
		}
		code, _, body := b.get(t, "/graphiql/static/"+asset)
		if code != 200 || len(body) < 1000 {
			t.Fatalf("asset %s: %d, %d bytes", asset, code, len(body))
		}
	}
	var out struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct{ Name string }
		} `json:"__schema"`
	}
	b.gql(t, "", introspectionQuery, nil).decode(t, &out)
	if out.Schema.QueryType.Name != "Query" || len(out.Schema.Types) < 20 {
		t.Fatal("GraphiQL's introspection query is refused in dev mode")
	}
}

// TestResponseCache: a repeated public catalogue query is served from the
// cache; a catalogue write invalidates it; queries naming the viewer are
// never cached.
func TestResponseCache(t *testing.T) {
	b, err := newApp("sqlite", func(c *app.Config) { c.ResponseCacheBytes = 1 << 20 })
	if err != nil {
		t.Fatal(err)
	}
	defer b.srv.Close()
	defer b.app.Close()
	body, _ := json.Marshal(map[string]any{"query": `{ navigation(dimension: NATURE) { key count } matters(first: 3) { edges { node { name } } } }`})
	first := b.post(t, body, nil)
	second := b.post(t, body, nil)
	if first.Header.Get("X-Cache") == "hit" || second.Header.Get("X-Cache") != "hit" || !bytes.Equal(first.Raw, second.Raw) {
		t.Fatalf("second identical request was not a cache hit")
	}
	b.app.Catalogue.Changed()
	if third := b.post(t, body, nil); third.Header.Get("X-Cache") == "hit" {
		t.Fatal("cache survived a catalogue change")
	}
	// A query touching the viewer is never cached, even with a public part.
	reg := b.register(t, person(t))
	meBody, _ := json.Marshal(map[string]any{"query": `{ me { username } regions { code } }`})
	b.post(t, meBody, map[string]string{"Authorization": "Bearer " + reg.Ticket})
	anon := b.post(t, meBody, nil)
	if anon.Header.Get("X-Cache") == "hit" || bytes.Contains(anon.Raw, []byte(reg.User.Username)) {
		t.Fatalf("a viewer's answer was served from cache: %s", anon.Raw)
	}
	// Errors are never cached.
	bad, _ := json.Marshal(map[string]any{"query": `{ matters(first: 500) { totalCount } }`})
	b.post(t, bad, nil)
	if r := b.post(t, bad, nil); r.Header.Get("X-Cache") == "hit" {
		t.Fatal("an error response was cached")
	}
}

// introspectionQuery is the query GraphiQL sends for its docs (graphql-js
// getIntrospectionQuery), with its nine-deep TypeRef fragment.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue isDeprecated deprecationReason }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}`
