package resolvers

import (
	"context"
	"encoding/json"

	"govmobile/models"
)

// auditSubjects names, for each audited mutation that changes one existing
// object, the input field holding that object's ID. Other mutations keep
// no before and after: their arguments say what they did, and objects of
// other kinds (cases, consultations, chats) hold citizens' words that the
// audit log must not copy.
var auditSubjects = map[string]string{
	"updateApp": "appId", "bindAppInterfaces": "appId", "testApp": "appId", "submitApp": "appId", "reviewApp": "appId",
	"publishApp": "appId", "takeAppOffline": "appId", "pressureTestApp": "appId", "setAppCredentials": "appId", "issueAppDataKey": "appId",
	"updateInterface": "interfaceId", "submitInterface": "interfaceId", "reviewInterface": "interfaceId", "testInterface": "interfaceId",
	"acknowledgeInterfaceAlert": "alertId", "resolveInterfaceAlert": "alertId",
	"updateFiling": "filingId", "submitFiling": "filingId", "reviewFiling": "filingId", "markFilingOnline": "filingId",
	"archiveAppFeedback": "feedbackId", "updateAdmin": "adminId", "updateRole": "roleId",
}

// appSnapshot is an app with what mutations change beside its row.
type appSnapshot struct {
	App          *models.App
	InterfaceIDs []uint64
	Placements   []*models.AppPublication
}

// adminSnapshot is an administrator with their roles.
type adminSnapshot struct {
	Admin   *models.Admin
	RoleIDs []uint64
}

// Snapshot is the state of the object an audited mutation changes (see
// auditSubjects), for the audit log's before and after; nil when it
// names none. Secrets in it are redacted by the audit log.
func (r *Resolver) Snapshot(ctx context.Context, operation string, args map[string]any) any {
	field, ok := auditSubjects[operation]
	if !ok {
		return nil
	}
	// Arguments arrive as the schema's input structs: read through JSON.
	var generic struct {
		Input map[string]any `json:"input"`
	}
	raw, _ := json.Marshal(args)
	_ = json.Unmarshal(raw, &generic)
	gid, _ := generic.Input[field].(string)
	kind, key, err := parseGlobalID(field, gid)
	if err != nil {
		return nil
	}
	id, ok := parseKey(key)
	if !ok {
		return nil
	}
	var v any
	switch kind {
	case kindApp:
		a, err := r.Apps.Get(ctx, id)
		if err != nil {
			return nil
		}
		s := appSnapshot{App: a}
		s.InterfaceIDs, _ = r.Apps.InterfaceIDs(ctx, id)
		s.Placements, _ = r.Apps.Placements(ctx, id)
		v = s
	case kindInterface:
		v, err = r.Interfaces.Get(ctx, id)
	case kindAlert:
		v, err = r.Interfaces.Alert(ctx, id)
	case kindFiling:
		v, err = r.Filings.Get(ctx, id)
	case kindAppFeedback:
		v, err = r.Apps.Feedback(ctx, id)
	case kindAdmin:
		a, err := r.Identity.AdminByID(ctx, id)
		if err != nil || a == nil {
			return nil
		}
		s := adminSnapshot{Admin: a}
		if roles, err := r.Identity.RolesOf(ctx, []uint64{id}); err == nil && len(roles) == 1 {
			for _, role := range roles[0] {
				s.RoleIDs = append(s.RoleIDs, role.ID)
			}
		}
		v = s
	case kindRole:
		role, err := r.Identity.RoleByID(ctx, id)
		if err != nil || role == nil {
			return nil
		}
		v = role
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return v
}
