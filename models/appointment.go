package models

import "time"

// AppointmentStatus is where a booking stands.
type AppointmentStatus string

// The appointment statuses.
const (
	AppointmentBooked    AppointmentStatus = "BOOKED"
	AppointmentCancelled AppointmentStatus = "CANCELLED"
)

// AppointmentSlot is a time window at a hall in which a matter can be
// handled, with the places it holds (8.1.2 g). Booked counts the places
// taken; the database keeps it at or below Capacity (appointment.Book
// takes a place with one conditional UPDATE, never read-then-write).
type AppointmentSlot struct {
	ID       uint64    `gorm:"primaryKey"`
	MatterID uint64    `gorm:"not null;uniqueIndex:idx_slot_matter_hall_start,priority:1"`
	HallID   uint64    `gorm:"not null;uniqueIndex:idx_slot_matter_hall_start,priority:2"`
	StartsAt time.Time `gorm:"not null;uniqueIndex:idx_slot_matter_hall_start,priority:3"`
	EndsAt   time.Time `gorm:"not null"`
	Capacity int       `gorm:"not null"`
	Booked   int       `gorm:"not null"`
}

// Appointment is a citizen's booking of a slot (预约), with its booking
// number. ActiveDay is the slot's date while the booking stands and NULL
// once cancelled: the unique index on (user, matter, active day) lets a
// citizen hold one booking per matter per day.
type Appointment struct {
	ID        uint64            `gorm:"primaryKey"`
	Number    string            `gorm:"size:40;uniqueIndex;not null"`
	UserID    uint64            `gorm:"not null;index:idx_appt_user_created,priority:1;uniqueIndex:idx_appt_user_matter_day,priority:1"`
	MatterID  uint64            `gorm:"not null;uniqueIndex:idx_appt_user_matter_day,priority:2"`
	ActiveDay *string           `gorm:"size:10;uniqueIndex:idx_appt_user_matter_day,priority:3"`
	HallID    uint64            `gorm:"not null"`
	SlotID    uint64            `gorm:"not null;index"`
	StartsAt  time.Time         `gorm:"not null"`
	EndsAt    time.Time         `gorm:"not null"`
	Status    AppointmentStatus `gorm:"size:16;not null"`
	CreatedAt time.Time         `gorm:"not null;index:idx_appt_user_created,priority:2"`
	UpdatedAt time.Time         `gorm:"not null"`
}

// IdempotencyKey records the first result of a submitting mutation sent
// with a client's key, so that a replay (after a lost response) returns it
// and creates nothing. It is written in the same transaction as the result.
// Key and Request are SM3 digests (hex) of the client's key and of the
// request it came with (package idempotency).
type IdempotencyKey struct {
	UserID    uint64    `gorm:"primaryKey"`
	Key       string    `gorm:"primaryKey;size:64"`
	Operation string    `gorm:"size:32;not null"`
	Request   string    `gorm:"size:64;not null"`
	ResultID  uint64    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null;index"`
}
