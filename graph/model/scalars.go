package model

import (
	"context"
	"io"
	"time"

	"govmobile/models"

	"github.com/99designs/gqlgen/graphql"
)

// The Time scalar (common.graphqls) travels as RFC 3339. It is the schema's
// only custom scalar, so the framework's variable checks accept any JSON for
// it: a value that does not parse is the client's error, and is named as
// such (BAD_USER_INPUT, a Chinese sentence), never an internal one.

// MarshalTime writes t as RFC 3339. It is a context marshaler only because
// gqlgen passes the context to UnmarshalTime when both are.
func MarshalTime(t time.Time) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		graphql.MarshalTime(t).MarshalGQL(w)
		return nil
	})
}

// UnmarshalTime reads an RFC 3339 time. An empty string is not one (the
// framework's own reading makes it the zero time, year 1). The error names
// the argument or input field at fault (extensions.field), as every other
// bad input does.
func UnmarshalTime(ctx context.Context, v any) (time.Time, error) {
	s, ok := v.(string)
	t, err := graphql.UnmarshalTime(v)
	if !ok || s == "" || err != nil {
		e := models.Errorf(models.ECodeBadUserInput, "时间格式不正确，请使用带时区的 RFC 3339 格式，例如 2026-11-26T08:00:00+08:00。")
		if pc := graphql.GetPathContext(ctx); pc != nil && pc.Field != nil {
			e.Field = *pc.Field
		}
		return time.Time{}, e
	}
	return t, nil
}
