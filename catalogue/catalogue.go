// Package catalogue provides the matter catalogue (8.1.2 a, b, h): regions,
// agencies, themes, halls, matters with their guides, service navigation, and
// the demo and synthetic data that fill it. It reads and writes through gorm
// and must never know about GraphQL or HTTP.
package catalogue

import (
	"context"
	"sync/atomic"

	"govmobile/messages"
	"govmobile/search"

	"gorm.io/gorm"
)

// Service answers catalogue queries.
type Service struct {
	db      *gorm.DB
	regions *RegionIndex
	// generation changes on every catalogue write, so response caches keyed by
	// it never serve a page older than the data.
	generation atomic.Uint64
	aggregates *aggregateCache
	// firstPages holds the first pages of keyword-free matter lists.
	firstPages *aggregateCache
	// search is the index the keyword filter runs on; nil until SetSearch.
	search *search.Service
	// messages tells a matter's subscribers of guide changes; nil until
	// SetMessages.
	messages *messages.Service
	// sharing publishes changes to the other replicas; nil until
	// ShareChanges (invalidate.go).
	sharing atomic.Pointer[sharer]
	settleState
}

// SetMessages lets guide changes reach the matter's subscribers.
func (s *Service) SetMessages(m *messages.Service) { s.messages = m }

// New returns a catalogue service over db. Regions are read once: they change
// only with a new GB/T 2260 data release, which comes with a new build.
func New(ctx context.Context, db *gorm.DB) (*Service, error) {
	idx, err := loadRegionIndex(ctx, db)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, regions: idx, aggregates: newAggregateCache(maxAggregates), firstPages: newAggregateCache(maxFirstPages)}
	s.generation.Store(1)
	return s, nil
}

// Regions returns the in-memory region index.
func (s *Service) Regions() *RegionIndex { return s.regions }

// Generation identifies the current state of the catalogue.
func (s *Service) Generation() uint64 { return s.generation.Load() }

// Changed records that the catalogue was written: caches keyed by the
// generation move on, and the search index applies the outbox rows the
// write committed — on this replica at once (its next read sees the
// write), and on the others when the event published here reaches them
// (ShareChanges). It never waits on the bus.
func (s *Service) Changed() {
	s.moveOn()
	if sh := s.sharing.Load(); sh != nil {
		sh.publish()
	}
}
