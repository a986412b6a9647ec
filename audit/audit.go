// Package audit keeps the append-only log of administrators' mutations
// (8.2.4; GB/T 22239 level 3 security audit): every mutation an
// administrator makes through the @admin directive is written with who did
// it, the operation and its arguments (secrets redacted), the outcome, the
// client address and the time. Rows are never updated or deleted by the
// server; super-administrators read them.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
)

// MaxArguments bounds the stored arguments (a longer record is cut).
const MaxArguments = 4000

// Service writes and reads the audit log.
type Service struct {
	db *gorm.DB
}

// New returns the audit log.
func New(db *gorm.DB) *Service { return &Service{db: db} }

// Entry is one mutation to record.
type Entry struct {
	Admin     *models.Admin
	Operation string
	Arguments map[string]any
	Outcome   string // OK, or the error code
	IP        string
	// Before and After are the object the mutation changed, as it was and
	// as it became (nil: none).
	Before, After any
}

// Record writes an entry.
func (s *Service) Record(ctx context.Context, e Entry) error {
	// The record outlives a client that went away: it must be written.
	ctx = context.WithoutCancel(ctx)
	return s.db.WithContext(ctx).Create(&models.AuditLog{AdminID: e.Admin.ID, Username: e.Admin.Username, Operation: e.Operation,
		Arguments: redactedJSON(e.Arguments), Outcome: e.Outcome, IP: e.IP, At: time.Now().UTC(),
		Before: snapshotJSON(e.Before), After: snapshotJSON(e.After)}).Error
}

// redactedJSON is v as JSON with its secrets redacted, cut to MaxArguments.
func redactedJSON(v any) string {
	// Through JSON first: arguments arrive as the schema's input structs,
	// and snapshots as models, whose fields become keys Redact can see.
	var generic any
	if raw, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(raw, &generic)
	}
	out, _ := json.Marshal(Redact(generic))
	text := string(out)
	if len(text) > MaxArguments {
		// Still JSON: a marker and the start of the text.
		cut, _ := json.Marshal(map[string]any{"truncated": true, "preview": truncate(text, MaxArguments-100)})
		text = string(cut)
	}
	return text
}

// snapshotJSON is a snapshot as redacted JSON, "" for none.
func snapshotJSON(v any) string {
	if v == nil {
		return ""
	}
	if s := redactedJSON(v); s != "null" {
		return s
	}
	return ""
}

// secretKeys are argument names whose values are never recorded.
var secretKeys = []string{"password", "secret", "privatekey", "private_key", "token", "ticket", "auth_code", "apikey", "api_key", "datakey", "authkey",
	// Personal data: contact phones, mobiles, identity numbers.
	"phone", "mobile", "idnumber", "id_number", "identity",
	// A licence's number and content (issueLicense): personal, whatever
	// their names.
	"number", "fields"}

func isSecret(name string) bool {
	n := strings.ToLower(name)
	if strings.HasSuffix(n, "param") || n == "healthparams" {
		return false // the name of a secret's parameter (authKeyParam), not a secret
	}
	if n == "key" || n == "appkey" || n == "app_key" || n == "sign" || n == "signature" {
		return true // names providers give their keys (figure 4's key=…)
	}
	for _, s := range secretKeys {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// maxValue bounds one text argument kept whole in the log.
const maxValue = 1000

// Redact copies arguments with secret values replaced, and file contents
// reduced to their size and digest, at any depth.
func Redact(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		// A {name, value} pair (parameters sent to a test) is secret by
		// its name.
		pairSecret := false
		if name, ok := x["name"].(string); ok {
			_, hasValue := x["value"]
			pairSecret = hasValue && isSecret(name)
		}
		for k, val := range x {
			switch s, isText := val.(string); {
			case isSecret(k) || (pairSecret && k == "value"):
				out[k] = "***"
			case isText && len(s) > maxValue:
				// File contents (an image, a CSV) would crowd out the
				// arguments that say what was changed: their size and
				// digest say enough.
				out[k] = fmt.Sprintf("（%d 字节，SM3 %s，内容未记录）", len(s), gm.SM3Hex([]byte(s))[:16])
			default:
				out[k] = Redact(val)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = Redact(val)
		}
		return out
	}
	return v
}

// Filter narrows a listing.
type Filter struct {
	AdminID   uint64
	Operation string
}

// List is a page of the log, newest first, and its total.
func (s *Service) List(ctx context.Context, f Filter, first int, afterID uint64) ([]*models.AuditLog, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.AuditLog{})
	if f.AdminID != 0 {
		q = q.Where("admin_id = ?", f.AdminID)
	}
	if f.Operation != "" {
		q = q.Where("operation = ?", f.Operation)
	}
	return database.NewestFirst[models.AuditLog](q, first, afterID)
}

func truncate(s string, n int) string {
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
