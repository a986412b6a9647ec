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

// idPage turns rows read newest first (one more than the page, to know
// whether another follows) into a page's edges and its page info.
func idPage[T, E any](rows []T, n int, after uint64, order string, id func(T) uint64, edge func(cursor string, node T) E) ([]E, *model.PageInfo) {
	info := &model.PageInfo{HasPreviousPage: after > 0}
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
	return edges, info
}
