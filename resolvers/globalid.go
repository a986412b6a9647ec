package resolvers

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"govmobile/models"
)

// Kinds of global IDs (the Relay Node types).
const (
	kindMatter        = "Matter"
	kindAgency        = "Agency"
	kindTheme         = "Theme"
	kindHall          = "Hall"
	kindRegion        = "Region"
	kindUser          = "User"
	kindApp           = "App"
	kindEntry         = "KnowledgeEntry"
	kindSlot          = "AppointmentSlot"
	kindAppt          = "Appointment"
	kindCase          = "Case"
	kindMessage       = "Message"
	kindSub           = "ServiceSubscription"
	kindEvaluation    = "Evaluation"
	kindRectification = "Rectification"
	kindConsultation  = "Consultation"
	kindChat          = "AgentChat"
	kindChatMessage   = "ChatMessage"
	kindAudit         = "AuditLogEntry"
	kindRole          = "Role"
	kindAdmin         = "AdminAccount"
	kindInterface     = "SourceInterface"
	kindAlert         = "InterfaceAlert"
)

// globalID makes an opaque ID: base64url of "Kind:key". Clients must treat it
// as opaque; it is stable across releases.
func globalID(kind, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + key))
}

func globalIDNum(kind string, id uint64) string { return globalID(kind, strconv.FormatUint(id, 10)) }

func badID(field string) error {
	return models.InvalidField(field, "编号格式不正确，请使用接口返回的编号。")
}

// parseGlobalID splits an opaque ID into its kind and key.
func parseGlobalID(field, id string) (kind, key string, err error) {
	if id == "" || len(id) > 100 {
		return "", "", badID(field)
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", badID(field)
	}
	kind, key, ok := strings.Cut(string(b), ":")
	if !ok || kind == "" || key == "" {
		return "", "", badID(field)
	}
	return kind, key, nil
}

// parseNumericID parses an ID that must be of the given kind.
func parseNumericID(field, id, want string) (uint64, error) {
	kind, key, err := parseGlobalID(field, id)
	if err != nil {
		return 0, err
	}
	n, ok := parseKey(key)
	if kind != want || !ok {
		return 0, badID(field)
	}
	return n, nil
}

// parseKey parses a numeric key: a positive integer that fits the
// databases' signed 64-bit keys.
func parseKey(key string) (uint64, bool) {
	n, err := strconv.ParseUint(key, 10, 64)
	return n, err == nil && n > 0 && n <= math.MaxInt64
}

// KindCaseFile is the global-ID kind of a case's material, shared with the
// HTTP upload and download endpoints.
const KindCaseFile = "CaseFile"

// GlobalID is the opaque ID of an object of the given kind, for the HTTP
// endpoints outside GraphQL.
func GlobalID(kind string, id uint64) string { return globalIDNum(kind, id) }

// ParseGlobalID reads an opaque ID that must be of the given kind.
func ParseGlobalID(field, id, kind string) (uint64, error) { return parseNumericID(field, id, kind) }

// KindConsultation and KindConsultationFile are the global-ID kinds of a
// consultation and its attachment, shared with the file endpoints.
const (
	KindConsultation     = kindConsultation
	KindConsultationFile = "ConsultationFile"
)
