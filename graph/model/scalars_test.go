package model

import (
	"context"
	"errors"
	"testing"
	"time"

	"govmobile/models"
)

// A Time that does not parse is the client's error (BAD_USER_INPUT with a
// Chinese sentence), not an internal one: the fuzzer (app.TestMutationInputFuzz)
// found "now", "2026-02-30T00:00:00Z" and an offset of +25:00 answered INTERNAL.
func TestUnmarshalTime(t *testing.T) {
	for _, v := range []any{"now", "", "2026-02-30T00:00:00Z", "2026-01-01T08:00:00+25:00", "2026-01-01", 1700000000, []any{}} {
		_, err := UnmarshalTime(context.Background(), v)
		var app *models.Error
		if !errors.As(err, &app) || app.Code != models.ECodeBadUserInput || app.Message == "" {
			t.Errorf("%#v: %v, want BAD_USER_INPUT", v, err)
		}
	}
	got, err := UnmarshalTime(context.Background(), "2026-11-26T08:00:00+08:00")
	if err != nil || !got.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("a valid time: %v, %v", got, err)
	}
}
