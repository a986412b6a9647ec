package audit_test

import (
	"encoding/json"
	"strings"
	"testing"

	"govmobile/audit"
)

func TestRedact(t *testing.T) {
	in := map[string]any{"username": "alice", "password": "S3cret!", "input": map[string]any{
		"newPassword": "x", "privateKeyPem": "-----BEGIN", "items": []any{map[string]any{"ticket": "t", "name": "ok"}}}}
	out, _ := json.Marshal(audit.Redact(in))
	for _, secret := range []string{"S3cret!", `"x"`, "BEGIN", `"t"`} {
		if strings.Contains(string(out), secret) {
			t.Fatalf("%s kept in %s", secret, out)
		}
	}
	for _, kept := range []string{"alice", `"ok"`} {
		if !strings.Contains(string(out), kept) {
			t.Fatalf("%s lost from %s", kept, out)
		}
	}
}
