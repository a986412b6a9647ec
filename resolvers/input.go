package resolvers

import (
	"context"

	"govmobile/graph/model"
	"govmobile/identity"
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
