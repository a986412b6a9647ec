package resolvers

import (
	"context"
	"fmt"

	"govmobile/agentchat"
	"govmobile/models"
	"govmobile/viewer"
)

// region resolves a stored region code; a dangling one is a data fault.
func (r *Resolver) region(code string) (*models.Region, error) {
	reg := r.Catalogue.Regions().Get(code)
	if reg == nil {
		return nil, fmt.Errorf("region %q missing from the index", code)
	}
	return reg, nil
}

// resolveNode fetches any object by kind and key. Users are visible to
// themselves only; anything else answers null, never revealing existence.
func (r *Resolver) resolveNode(ctx context.Context, kind, key string) (models.Node, error) {
	if kind == kindRegion {
		if reg := r.Catalogue.Regions().Get(key); reg != nil {
			return reg, nil
		}
		return nil, nil
	}
	id, ok := parseKey(key)
	if !ok {
		return nil, badID("id")
	}
	// Each branch returns a typed nil-or-value through an interface, so a
	// missing row must become an untyped nil.
	switch kind {
	case kindMatter:
		return nonNil(r.Catalogue.Matter(ctx, id))
	case kindAgency:
		return nonNil(r.Catalogue.Agency(ctx, id))
	case kindTheme:
		return nonNil(r.Catalogue.Theme(ctx, id))
	case kindHall:
		return nonNil(r.Catalogue.Hall(ctx, id))
	case kindApp:
		return nonNil(r.Catalogue.App(ctx, id))
	case kindEntry:
		return nonNil(r.Catalogue.KnowledgeEntry(ctx, id))
	case kindSlot:
		return nonNil(r.Appointments.Slot(ctx, id))
	case kindAppt:
		return owned(ctx, func(userID uint64) (*models.Appointment, error) { return r.Appointments.Get(ctx, userID, id) })
	case kindCase:
		return owned(ctx, func(userID uint64) (*models.Case, error) { return r.Cases.Mine(ctx, userID, id) })
	case kindEvaluation:
		return owned(ctx, func(userID uint64) (*models.Evaluation, error) { return r.Evaluations.Mine(ctx, userID, id) })
	case kindConsultation:
		return owned(ctx, func(userID uint64) (*models.Consultation, error) { return r.Consultations.Mine(ctx, userID, id) })
	case kindChat:
		return owned(ctx, func(userID uint64) (*models.AgentChat, error) {
			return r.Chats.Get(ctx, agentchat.Party{UserID: userID}, id)
		})
	case kindMessage:
		return owned(ctx, func(userID uint64) (*models.Message, error) { return r.Messages.Get(ctx, userID, id) })
	case kindSub:
		return owned(ctx, func(userID uint64) (*models.Subscription, error) { return r.Messages.Subscription(ctx, userID, id) })
	case kindUser:
		u, err := viewer.From(ctx).User(ctx)
		if err != nil || u == nil || u.ID != id {
			return nil, err
		}
		return r.Identity.Profile(u)
	}
	return nil, badID("id")
}

// owned fetches one of the caller's own objects; anyone else, signed in or
// not, gets null, as for an object that does not exist.
func owned[T any](ctx context.Context, get func(userID uint64) (*T, error)) (models.Node, error) {
	u, err := viewer.From(ctx).User(ctx)
	if err != nil || u == nil {
		return nil, err
	}
	v, err := get(u.ID)
	if models.ErrorCode(err) == models.ECodeNotFound {
		return nil, nil
	}
	return nonNil(v, err)
}

// nonNil turns a missing row into an untyped nil Node.
func nonNil[T any](v *T, err error) (models.Node, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return v, nil
}

// required turns a missing referenced row into an error: a booking whose
// matter or hall is gone is a data fault, not an empty answer.
func required[T any](v *T, err error) (*T, error) {
	if err == nil && v == nil {
		return nil, fmt.Errorf("referenced %T missing", v)
	}
	return v, err
}
