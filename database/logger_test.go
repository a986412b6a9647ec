package database

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func TestTraceLogsFailuresNotCancellations(t *testing.T) {
	var buf bytes.Buffer
	l := &slogLogger{log: slog.New(slog.NewTextHandler(&buf, nil)), level: logger.Warn}
	stmt := func() (string, int64) { return "SELECT * FROM users WHERE phone = '13800138000'", 0 }
	ctx := context.Background()

	l.Trace(ctx, time.Now(), stmt, fmt.Errorf("query: %w", context.Canceled))
	l.Trace(ctx, time.Now(), stmt, gorm.ErrRecordNotFound)
	if buf.Len() != 0 {
		t.Fatalf("a cancelled or empty lookup was logged as a failure: %s", buf.String())
	}
	l.Trace(ctx, time.Now(), stmt, errors.New("database is locked"))
	out := buf.String()
	if !strings.Contains(out, "sql error") || !strings.Contains(out, "database is locked") {
		t.Fatalf("a failed statement was not logged: %s", out)
	}
	if strings.Contains(out, "13800138000") {
		t.Fatalf("a bound value reached the log: %s", out)
	}
}
