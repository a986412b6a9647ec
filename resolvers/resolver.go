// Package resolvers adapts GraphQL to the domain services: each resolver checks
// its arguments, calls a service and maps the result. Rules live in the
// services; cross-cutting ones (masking) live in schema directives.
package resolvers

import (
	"govmobile/agentchat"
	"govmobile/analytics"
	"govmobile/appointment"
	"govmobile/apps"
	"govmobile/audit"
	"govmobile/cases"
	"govmobile/catalogue"
	"govmobile/consult"
	"govmobile/evaluation"
	"govmobile/filing"
	"govmobile/identity"
	"govmobile/iface"
	"govmobile/incident"
	"govmobile/license"
	"govmobile/lightapp"
	"govmobile/logistics"
	"govmobile/messages"
	"govmobile/payment"
	"govmobile/platformkey"
	"govmobile/seal"
	"govmobile/search"
	"govmobile/servicecode"
)

// Resolver is the root of the resolver tree; it holds the domain services.
type Resolver struct {
	Catalogue *catalogue.Service
	Identity  *identity.Service
	Searcher  *search.Service
	// Appointments books hall time slots.
	Appointments *appointment.Service
	// Cases keeps applications and their handling.
	Cases *cases.Service
	// Messages is the message centre; Bus delivers messages live.
	Messages *messages.Service
	Bus      *messages.Bus
	// Files keeps case materials.
	Files *cases.Files
	// PlatformKeys are the platform's SM2 keys; ServiceCodes issues and
	// verifies enterprise and personal codes.
	PlatformKeys *platformkey.Ring
	ServiceCodes *servicecode.Service
	// Evaluations keeps 好差评 and rectifications.
	Evaluations *evaluation.Service
	// Consultations keeps consultations, complaints and suggestions.
	Consultations *consult.Service
	// Attachments keeps consultations' attachments.
	ConsultationFiles *consult.Attachments
	// Chats keeps the human customer-service chats.
	Chats *agentchat.Service
	// Audit is the administrators' audit log.
	Audit *audit.Service
	// Interfaces keeps apps' source interfaces and the sensitive-word list.
	Interfaces *iface.Service
	// Apps keeps service applications through their life cycle.
	Apps *apps.Service
	// Filings keeps mobile terminals' filings.
	Filings *filing.Service
	// LightApps keeps third-party apps' credentials, consents and tickets.
	LightApps *lightapp.Service
	// Seals keeps agencies' electronic seals.
	Seals *seal.Service
	// Licenses keeps electronic licences.
	Licenses *license.Service
	// Payments keeps fee items, payment orders and reconciliations.
	Payments *payment.Service
	// Logistics keeps cases' shipments; nil when no carrier is configured.
	Logistics *logistics.Service
	// Events records behaviour events without blocking; Analytics answers
	// the console's statistics.
	Events    *analytics.Recorder
	Analytics *analytics.Service
	// Incidents keeps operations incidents and runbooks.
	Incidents *incident.Service
}
