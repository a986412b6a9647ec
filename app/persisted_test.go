package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"testing"

	"govmobile/app"
)

func sha(q string) string {
	s := sha256.Sum256([]byte(q))
	return hex.EncodeToString(s[:])
}

func apq(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

// TestAutomaticPersistedQueries (issue 9): a hash the server has not seen
// answers PERSISTED_QUERY_NOT_FOUND; the client sends the text with it
// once; then the hash alone works, over GET too.
func TestAutomaticPersistedQueries(t *testing.T) {
	b := allBackends(t)[0]
	q := `query Regions { regions { code name } }`
	body := func(v map[string]any) []byte { raw, _ := json.Marshal(v); return raw }
	r := b.post(t, body(map[string]any{"extensions": apq(sha(q))}), nil)
	if r.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("an unknown hash: %s", r.Raw)
	}
	if r := b.post(t, body(map[string]any{"query": q, "extensions": apq(sha(q))}), nil); len(r.Errors) != 0 {
		t.Fatalf("text with hash: %s", r.Raw)
	}
	if r := b.post(t, body(map[string]any{"extensions": apq(sha(q))}), nil); len(r.Errors) != 0 || len(r.Data) < 10 {
		t.Fatalf("the hash alone: %s", r.Raw)
	}
	ext, _ := json.Marshal(apq(sha(q)))
	if st, _, raw := b.get(t, "/graphql?extensions="+url.QueryEscape(string(ext))); st != 200 || !contains(raw, `"regions"`) {
		t.Fatalf("the hash over GET: %d %.200s", st, raw)
	}
	for name, ext := range map[string]any{
		"another text's hash": apq(sha("another")),
		"no version":          map[string]any{"persistedQuery": map[string]any{"sha256Hash": sha(q)}},
		"not an object":       map[string]any{"persistedQuery": "x"},
		"a short hash":        apq("abc"),
	} {
		if r := b.post(t, body(map[string]any{"query": q, "extensions": ext}), nil); r.code() != "BAD_USER_INPUT" || !hasHan(string(r.Raw)) {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
}

// TestPersistedQueriesOnly (issue 9): with an allowlist, only its
// operations run, by hash or by their text; anything else is refused.
func TestPersistedQueriesOnly(t *testing.T) {
	q := `query Regions { regions { code name } }`
	b, err := newApp("sqlite", func(c *app.Config) { c.PersistedQueries = map[string]string{sha(q): q}; c.SkipDemo = true })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.srv.Close(); b.app.Close(); os.RemoveAll(b.dir) }()
	body := func(v map[string]any) []byte { raw, _ := json.Marshal(v); return raw }
	if r := b.post(t, body(map[string]any{"extensions": apq(sha(q))}), nil); len(r.Errors) != 0 {
		t.Fatalf("a listed hash: %s", r.Raw)
	}
	if r := b.post(t, body(map[string]any{"query": q}), nil); len(r.Errors) != 0 {
		t.Fatalf("a listed text: %s", r.Raw)
	}
	for name, v := range map[string]map[string]any{
		"an unlisted text":                     {"query": `{ __typename }`},
		"an unlisted hash":                     {"extensions": apq(sha(`{ __typename }`))},
		"an unlisted text under a listed hash": {"query": `{ __typename }`, "extensions": apq(sha(q))},
	} {
		if r := b.post(t, body(v), nil); r.code() != "PERSISTED_QUERY_NOT_ALLOWED" || !hasHan(string(r.Raw)) {
			t.Errorf("%s: %s", name, r.Raw)
		}
	}
}
