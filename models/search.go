package models

import "time"

// SearchDocKind is the kind of object a search document stands for.
type SearchDocKind string

// The indexed kinds.
const (
	DocMatter    SearchDocKind = "MATTER"
	DocApp       SearchDocKind = "APP"
	DocKnowledge SearchDocKind = "KNOWLEDGE"
	DocHall      SearchDocKind = "HALL"
	// DocConsultation is a submitted consultation: searched only by its
	// author and its agency, never by the public scopes.
	DocConsultation SearchDocKind = "CONSULTATION"
)

// SearchOutbox records, in the same transaction as the write, that an indexed
// entity changed. The search index is derived data: every replica applies the
// outbox to its own index in ID order, so a crash between the database commit
// and the index update loses nothing. A row names the entity, not the change:
// applying it reads the entity's current state (deleted → removed).
type SearchOutbox struct {
	ID        uint64        `gorm:"primaryKey"`
	Kind      SearchDocKind `gorm:"size:16;not null"`
	EntityID  uint64        `gorm:"not null"`
	CreatedAt time.Time     `gorm:"not null;index"`
}

// SearchSynonym maps what citizens type to the official wording (8.2.5 搜索管理):
// a query containing Term is also run with Term replaced by each expansion.
type SearchSynonym struct {
	ID         uint64    `gorm:"primaryKey"`
	Term       string    `gorm:"size:64;uniqueIndex;not null"`
	Expansions []string  `gorm:"serializer:json;type:text;not null"`
	CreatedAt  time.Time `gorm:"not null"`
	UpdatedAt  time.Time `gorm:"not null"`
}

// HotWordState is an administrator's decision about a hot-search word.
type HotWordState string

// Pinned words lead the hot-search list in their order; hidden words never
// appear in it, however often they are searched.
const (
	HotWordPinned HotWordState = "PINNED"
	HotWordHidden HotWordState = "HIDDEN"
)

// HotWord is an administrator's pin or hide of a hot-search word.
type HotWord struct {
	Word      string       `gorm:"primaryKey;size:64"`
	State     HotWordState `gorm:"size:16;not null"`
	SortOrder int          `gorm:"not null"`
	UpdatedAt time.Time    `gorm:"not null"`
}

// SearchLog is one search as it was asked: the normalised query (digit runs
// that could be identity or phone numbers masked), scope, hit count and
// latency. It holds no user identity.
type SearchLog struct {
	ID            uint64    `gorm:"primaryKey"`
	Query         string    `gorm:"size:100;not null;index:idx_search_logs_query_time,priority:1"`
	Scope         string    `gorm:"size:32;not null"`
	Hits          int       `gorm:"not null"`
	LatencyMicros int64     `gorm:"not null"`
	CreatedAt     time.Time `gorm:"not null;index;index:idx_search_logs_query_time,priority:2"`
}
