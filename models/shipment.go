package models

import "time"

// Shipment is a parcel of a case sent through the logistics service
// (物流服务, 8.3.2 e): the applicant's materials mailed to the agency's hall
// (MATERIALS_TO_HALL), or the case's result mailed to the applicant
// (RESULT_TO_USER). Package logistics keeps its rules; the sender and
// receiver are sealed by the master key (the *Enc columns, bound to the
// carrier and waybill number) and never stored in clear.
type Shipment struct {
	ID        uint64 `gorm:"primaryKey"`
	CaseID    uint64 `gorm:"not null;index"`
	UserID    uint64 `gorm:"not null;index"`
	AgencyID  uint64 `gorm:"not null;index"`
	Direction string `gorm:"size:24;not null"`
	// HallID is the hall materials are mailed to (0 for a result).
	HallID uint64 `gorm:"not null;default:0"`
	// ActiveKey is "caseID/direction" while the shipment is under way and
	// NULL once it has ended: its unique index lets a case have one
	// shipment under way in each direction, even against concurrent
	// requests.
	ActiveKey *string `gorm:"size:48;uniqueIndex"`
	// RequestHash is a keyed hash (blind index) of what was asked for, to
	// tell a repeated request from a different one without keeping it in
	// clear.
	RequestHash string `gorm:"size:64;not null"`
	Carrier     string `gorm:"size:32;not null;uniqueIndex:idx_shipments_waybill,priority:1"`
	WaybillNo   string `gorm:"size:64;not null;uniqueIndex:idx_shipments_waybill,priority:2"`
	// Status is where the parcel stands; Stage the furthest point of the
	// normal route it has reached (Status differs only during an
	// EXCEPTION); StatusAt when the carrier says the status happened.
	Status   string    `gorm:"size:24;not null"`
	Stage    string    `gorm:"size:24;not null"`
	StatusAt time.Time `gorm:"not null"`

	SenderNameEnc      string `gorm:"size:255;not null"`
	SenderPhoneEnc     string `gorm:"size:255;not null"`
	SenderRegionCode   string `gorm:"size:6;not null"`
	SenderAddressEnc   string `gorm:"type:text;not null"`
	ReceiverNameEnc    string `gorm:"size:255;not null"`
	ReceiverPhoneEnc   string `gorm:"size:255;not null"`
	ReceiverRegionCode string `gorm:"size:6;not null"`
	ReceiverAddressEnc string `gorm:"type:text;not null"`

	// CreatedBy is APPLICANT or STAFF; CreatedByID the user or the staff
	// member.
	CreatedBy   string    `gorm:"size:16;not null"`
	CreatedByID uint64    `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

// ShipmentEvent is one tracking event of a shipment, as the carrier
// reported it (or as the platform recorded it: creation, cancellation).
// Every event is kept, in the order it happened; Applied says whether it
// moved the shipment's status (an event older than the current status is
// history only). The unique index on the carrier's event ID applies each
// event once, however often the carrier sends it.
type ShipmentEvent struct {
	ID             uint64 `gorm:"primaryKey"`
	ShipmentID     uint64 `gorm:"not null;index:idx_shipment_events_shipment,priority:1"`
	Carrier        string `gorm:"size:32;not null;uniqueIndex:idx_shipment_events_carrier_event,priority:1"`
	CarrierEventID string `gorm:"size:64;not null;uniqueIndex:idx_shipment_events_carrier_event,priority:2"`
	Status         string `gorm:"size:24;not null"`
	// DescriptionEnc is sealed: carriers write the courier's or the
	// signer's name and phone into it.
	DescriptionEnc string    `gorm:"type:text;not null"`
	Location       string    `gorm:"size:100;not null"`
	OccurredAt     time.Time `gorm:"not null;index:idx_shipment_events_shipment,priority:2"`
	ReceivedAt     time.Time `gorm:"not null"`
	Applied        bool      `gorm:"not null"`
}

// CarrierWebhookRejection is a carrier webhook the platform refused, kept
// for operators: why, from where, and enough to find the carrier's event.
// It holds no body in clear: only its size, its SM3 and a sealed excerpt
// of its first bytes, so a flood of large or hostile requests stays small.
type CarrierWebhookRejection struct {
	ID      uint64 `gorm:"primaryKey"`
	Carrier string `gorm:"size:32;not null"`
	// Reason is BAD_SIGNATURE, STALE_TIMESTAMP, TOO_LARGE, MALFORMED or
	// UNKNOWN_WAYBILL.
	Reason string `gorm:"size:32;not null;index"`
	Detail string `gorm:"size:200;not null"`
	// EventID and WaybillNo are filled only from a correctly signed body.
	EventID    string    `gorm:"size:64;not null"`
	WaybillNo  string    `gorm:"size:64;not null"`
	RemoteAddr string    `gorm:"size:64;not null"`
	BodySize   int       `gorm:"not null"`
	BodySM3    string    `gorm:"size:64;not null"`
	ExcerptEnc string    `gorm:"type:text;not null"`
	At         time.Time `gorm:"not null;index"`
}

// LogisticsTables are the tables of the logistics service, for the
// migration.
var LogisticsTables = []any{&Shipment{}, &ShipmentEvent{}, &CarrierWebhookRejection{}}
