// Package pagination holds the one helper for Relay cursor connections: page
// size limits and opaque keyset cursors. It never builds SQL.
package pagination

import (
	"encoding/base64"
	"encoding/json"
	"math"

	"govmobile/models"
)

// MaxPageSize caps first (CONVENTIONS: connections capped at 100 per page).
const MaxPageSize = 100

// DefaultPageSize applies when first is not given.
const DefaultPageSize = 20

// PageSize validates first.
func PageSize(first *int) (int, error) {
	if first == nil {
		return DefaultPageSize, nil
	}
	if *first < 1 || *first > MaxPageSize {
		return 0, models.InvalidField("first", "每页条数 first 应在1到100之间。")
	}
	return *first, nil
}

// Cursor is a keyset position: the sort key of the last row seen and its ID,
// tagged with the ordering it belongs to so that a cursor from another ordering
// is refused instead of silently skipping rows.
type Cursor struct {
	Order string `json:"o"`
	Value any    `json:"v"`
	ID    uint64 `json:"i"`
}

// Encode makes the opaque cursor string.
func Encode(c Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursorLen bounds what Decode will look at.
const maxCursorLen = 512

var errBadCursor = models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")

// Decode parses a cursor made by Encode for the given ordering.
func Decode(s, order string) (Cursor, error) {
	var c Cursor
	if len(s) == 0 || len(s) > maxCursorLen {
		return c, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, errBadCursor
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Order != order || c.ID == 0 || c.ID > math.MaxInt64 {
		return c, errBadCursor
	}
	switch c.Value.(type) {
	case string, float64:
	default:
		return c, errBadCursor
	}
	return c, nil
}

// valuesCursor is a cursor made of a search engine's sort values.
type valuesCursor struct {
	Order  string   `json:"o"`
	Values []string `json:"s"`
}

// EncodeValues makes an opaque cursor of sort values (a search index's
// search_after key) for an ordering.
func EncodeValues(order string, values []string) string {
	b, _ := json.Marshal(valuesCursor{Order: order, Values: values})
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeValues parses a cursor made by EncodeValues for the given ordering,
// which must carry n values.
func DecodeValues(s, order string, n int) ([]string, error) {
	if len(s) == 0 || len(s) > maxCursorLen {
		return nil, errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCursor
	}
	var c valuesCursor
	if err := json.Unmarshal(b, &c); err != nil || c.Order != order || len(c.Values) != n {
		return nil, errBadCursor
	}
	return c.Values, nil
}
