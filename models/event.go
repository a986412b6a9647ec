package models

import "time"

// EventKind is what a behaviour event records (8.3.1 c, 8.3.3 c). The set is
// closed: the analytics package refuses any other kind.
type EventKind string

// Kinds a frontend may report: what only the page in the citizen's hand
// sees.
const (
	EventPageView   EventKind = "PAGE_VIEW"   // a page shown; Term is the page's name
	EventMatterView EventKind = "MATTER_VIEW" // a matter's guide read; Subject is the matter
	EventClick      EventKind = "CLICK"       // a control tapped; Term is its name
	EventShare      EventKind = "SHARE"       // a matter or an app shared
)

// Kinds only the server records: what the server itself decides or
// measures. A client could forge or double them (a search's hit count, a
// submission), so a client batch carrying one is refused. A search is one
// event: SEARCH when it found something, SEARCH_NO_RESULT when not.
const (
	EventLogin          EventKind = "LOGIN"            // a user logged in
	EventSearch         EventKind = "SEARCH"           // a search that found something; Term is the masked query
	EventSearchNoResult EventKind = "SEARCH_NO_RESULT" // a search that found nothing; Term is the masked query
	EventSubmitCase     EventKind = "SUBMIT_CASE"      // a case submitted; Subject is its matter
	EventEvaluate       EventKind = "EVALUATE"         // an evaluation; Value is its score, 1 (very dissatisfied) to 5 (very satisfied)
	EventAppOpen        EventKind = "APP_OPEN"         // a service application opened; Subject is the app
	EventInterfaceCall  EventKind = "INTERFACE_CALL"   // a source interface called; Subject is it, Value its latency in ms
)

// EventChannel is where an event came from.
type EventChannel string

// The channels: the four frontends of 8.3.1, and the server itself.
const (
	ChannelApp             EventChannel = "APP"
	ChannelMiniProgram     EventChannel = "MINI_PROGRAM"
	ChannelOfficialAccount EventChannel = "OFFICIAL_ACCOUNT"
	ChannelH5              EventChannel = "H5"
	ChannelServer          EventChannel = "SERVER"
)

// Valid reports whether c is a known channel.
func (c EventChannel) Valid() bool {
	switch c {
	case ChannelApp, ChannelMiniProgram, ChannelOfficialAccount, ChannelH5, ChannelServer:
		return true
	}
	return false
}

// SubjectKind names what an event's SubjectID identifies.
type SubjectKind string

// The subjects an event may be about ("" for none).
const (
	SubjectNone      SubjectKind = ""
	SubjectMatter    SubjectKind = "MATTER"
	SubjectApp       SubjectKind = "APP"
	SubjectInterface SubjectKind = "INTERFACE"
)

// Event is one raw behaviour event. Raw events are kept for a retention
// period only (the analytics package prunes them); what outlives them is
// the rollups below. Every time is UTC.
type Event struct {
	ID          uint64       `gorm:"primaryKey"`
	Kind        EventKind    `gorm:"size:24;not null"`
	Channel     EventChannel `gorm:"size:16;not null"`
	UserID      uint64       `gorm:"not null"` // 0: anonymous
	SubjectKind SubjectKind  `gorm:"size:16;not null"`
	SubjectID   uint64       `gorm:"not null"`
	// Term is a normalised short text (a masked search query, a page
	// name), at most 64 characters so that it fits the rollup's key.
	Term string `gorm:"size:64;not null"`
	// Value is a measure some kinds carry (a score, a latency); nil for
	// none, so that averages count only the events that have one.
	Value      *int64
	RegionCode string    `gorm:"size:12;not null"` // "" when unknown
	OccurredAt time.Time `gorm:"not null"`
	// Hour is OccurredAt truncated to the hour: the rollup reads one hour
	// at a time and pruning deletes whole hours, both by this index, and it
	// needs no dialect's date functions.
	Hour time.Time `gorm:"not null;index"`
}

// EventHour is the hourly rollup of raw events: how many events of a kind
// about a subject (or with a term) came from a channel and region in one
// hour, and the sum and number of their values. It is kept forever; day
// series sum its hours. Distinct users cannot be summed across rows and
// are kept in EventActiveUsers instead.
type EventHour struct {
	Kind        EventKind    `gorm:"primaryKey;size:24"`
	Hour        time.Time    `gorm:"primaryKey"`
	Channel     EventChannel `gorm:"primaryKey;size:16"`
	SubjectKind SubjectKind  `gorm:"primaryKey;size:16"`
	SubjectID   uint64       `gorm:"primaryKey;autoIncrement:false"`
	Term        string       `gorm:"primaryKey;size:64"`
	RegionCode  string       `gorm:"primaryKey;size:12"`
	Events      int64        `gorm:"not null"`
	ValueSum    int64        `gorm:"not null"`
	ValueCount  int64        `gorm:"not null"`
}

// Rollup granularities of EventActiveUsers.
const (
	GranularityHour = "HOUR"
	GranularityDay  = "DAY" // a China Standard Time day (UTC+8)
)

// EventActiveUsers is the number of distinct signed-in users with any
// event in one hour or one China day, from one channel ("" for all) and one
// region-code prefix ("" for all; else a province, city or county prefix of
// 2, 4 or 6 digits). No row is summed from other rows: a user active in two
// hours, or on two channels, is one user. An hour's row is counted from the
// hour's raw events; a day's row is the number of the day's EventDayUser
// rows for its channel and prefix, kept up as the day's hours are rolled up.
type EventActiveUsers struct {
	Granularity  string       `gorm:"primaryKey;size:8"`
	Channel      EventChannel `gorm:"primaryKey;size:16"`
	RegionPrefix string       `gorm:"primaryKey;size:12"`
	Bucket       time.Time    `gorm:"primaryKey"`
	Users        int64        `gorm:"not null"`
}

// EventDayUser is one signed-in user active on one China day, from one
// channel ("" for all) and in one region-code prefix ("" for all; else 2, 4
// or 6 digits): the keys of EventActiveUsers' day rows, each user once.
// Rolling up an hour inserts its users' rows, and a row that was not there
// yet adds one to its day's count, in the same transaction: the day's
// distinct users are kept without reading the day's raw events again, and
// an hour rolled up twice, or on two replicas, adds nothing twice. Rows are
// pruned with the raw events; the day counts are kept for ever.
type EventDayUser struct {
	ID           uint64       `gorm:"primaryKey"`
	Day          time.Time    `gorm:"not null;uniqueIndex:idx_event_day_users_key,priority:1"` // the day's start (00:00 UTC+8), in UTC
	UserID       uint64       `gorm:"not null;uniqueIndex:idx_event_day_users_key,priority:2"`
	Channel      EventChannel `gorm:"size:16;not null;uniqueIndex:idx_event_day_users_key,priority:3"`
	RegionPrefix string       `gorm:"size:12;not null;uniqueIndex:idx_event_day_users_key,priority:4"`
	// Token names the rollup transaction that inserted the row (a random
	// number), so that it can count the rows that were new to it.
	Token int64 `gorm:"not null;index"`
}

// EventStaleHour marks an hour whose raw events changed since it was last
// rolled up. The writer that inserts events marks (or bumps) their hours in
// the same transaction, so no event escapes the rollup, however late it
// arrives; the rollup removes a mark only if its Version is still the one
// it read.
type EventStaleHour struct {
	Hour    time.Time `gorm:"primaryKey"`
	Version int64     `gorm:"not null"`
}

// AnalyticsTables are the analytics tables, for AutoMigrate.
var AnalyticsTables = []any{&Event{}, &EventHour{}, &EventActiveUsers{}, &EventDayUser{}, &EventStaleHour{}}
