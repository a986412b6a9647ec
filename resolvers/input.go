package resolvers

import (
	"context"

	"govmobile/graph/model"
	"govmobile/identity"
	"govmobile/pagination"
	"govmobile/viewer"
)

// deref reads an optional string argument.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// authPayload maps a session to the schema.
func authPayload(s *identity.Session) *model.AuthPayload {
	return &model.AuthPayload{Ticket: s.Ticket, ExpiresAt: s.ExpiresAt, User: s.User}
}

// ownedID is the signed-in user and the numeric key of an ID of one of
// their objects; whether it is theirs is the domain's to check.
func ownedID(ctx context.Context, field, id, kind string) (userID, key uint64, err error) {
	u, err := viewer.From(ctx).RequireUser(ctx)
	if err != nil {
		return 0, 0, err
	}
	key, err = parseNumericID(field, id, kind)
	return u.ID, key, err
}

// afterID reads the cursor of a list ordered by ID, newest first.
func afterID(after *string, order string) (uint64, error) {
	if after == nil {
		return 0, nil
	}
	c, err := pagination.Decode(*after, order)
	return c.ID, err
}

// idPage is a page of a list ordered by ID, newest first: it checks first
// and after, reads one row more than the page (to know whether another
// follows) with list, and makes the page's rows, edges, page info and total.
type idPage[T, E any] struct {
	Rows  []T
	Edges []E
	Info  *model.PageInfo
	Total int
}

func readIDPage[T, E any](first *int, after *string, order string, list func(n int, afterID uint64) ([]T, int64, error),
	id func(T) uint64, edge func(cursor string, node T) E) (*idPage[T, E], error) {
	n, err := pagination.PageSize(first)
	if err != nil {
		return nil, err
	}
	cursorID, err := afterID(after, order)
	if err != nil {
		return nil, err
	}
	rows, total, err := list(n+1, cursorID)
	if err != nil {
		return nil, err
	}
	info := &model.PageInfo{HasPreviousPage: cursorID > 0}
	if len(rows) > n {
		rows, info.HasNextPage = rows[:n], true
	}
	edges := make([]E, len(rows))
	for i, r := range rows {
		cur := pagination.Encode(pagination.Cursor{Order: order, Value: "", ID: id(r)})
		edges[i] = edge(cur, r)
		if i == 0 {
			info.StartCursor = &cur
		}
		if i == len(rows)-1 {
			info.EndCursor = &cur
		}
	}
	return &idPage[T, E]{Rows: rows, Edges: edges, Info: info, Total: int(total)}, nil
}
