package resolvers

import (
	"govmobile/graph/model"
	"govmobile/identity"
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
