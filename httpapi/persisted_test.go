package httpapi

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadPersistedQueries(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "q.json")
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// sha256("{ __typename }")
	good := `{"8f4c9f3b8e6c6f0c7f0e7b2d2b7d8a1f1b6a0a2d3c4e5f60718293a4b5c6d7e8":"{ __typename }"}`
	if _, err := LoadPersistedQueries(write(good)); err == nil {
		t.Fatal("a wrong hash accepted")
	}
	for _, bad := range []string{`[]`, `{}`, `not json`} {
		if _, err := LoadPersistedQueries(write(bad)); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	ok := `{"7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b":"{ __typename }"}`
	if _, err := LoadPersistedQueries(write(ok)); err != nil {
		t.Fatalf("a good list: %v", err)
	}
}
