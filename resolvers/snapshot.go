package resolvers

import (
	"context"
	"encoding/json"
	"strings"
)

// Snapshot is the state of the object a mutation's arguments name (the
// first argument ending in "Id" that holds a global ID of a kind the
// management centre changes), for the audit log's before and after; nil
// when there is none. Secrets in it are redacted by the audit log.
func (r *Resolver) Snapshot(ctx context.Context, args map[string]any) any {
	kind, id := subjectOf(args)
	if id == 0 {
		return nil
	}
	var (
		v   any
		err error
	)
	switch kind {
	case kindApp:
		v, err = r.Apps.Get(ctx, id)
	case kindInterface:
		v, err = r.Interfaces.Get(ctx, id)
	case kindAlert:
		v, err = r.Interfaces.Alert(ctx, id)
	case kindFiling:
		v, err = r.Filings.Get(ctx, id)
	case kindAppFeedback:
		v, err = r.Apps.Feedback(ctx, id)
	case kindAdmin:
		v, err = r.Identity.AdminByID(ctx, id)
	case kindRole:
		v, err = r.Identity.RoleByID(ctx, id)
	default:
		return nil
	}
	if err != nil {
		return nil // gone (deleted), or not found: nothing to show
	}
	return v
}

// subjectOf finds the object a mutation's arguments name.
func subjectOf(args map[string]any) (string, uint64) {
	raw, err := json.Marshal(args)
	if err != nil {
		return "", 0
	}
	var generic any
	if json.Unmarshal(raw, &generic) != nil {
		return "", 0
	}
	var walk func(v any, depth int) (string, uint64)
	walk = func(v any, depth int) (string, uint64) {
		m, ok := v.(map[string]any)
		if !ok || depth > 2 {
			return "", 0
		}
		for k, x := range m {
			if s, ok := x.(string); ok && (k == "id" || strings.HasSuffix(k, "Id")) {
				if kind, key, err := parseGlobalID(k, s); err == nil {
					if n, ok := parseKey(key); ok {
						return kind, n
					}
				}
			}
		}
		for _, x := range m {
			if kind, id := walk(x, depth+1); id != 0 {
				return kind, id
			}
		}
		return "", 0
	}
	return walk(generic, 0)
}
