package catalogue

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Aggregates (total counts of a filter, navigation counts) change only when
// the catalogue is written, yet on a large catalogue they are the costly part
// of a page: counting tens of thousands of rows. They are kept in memory, keyed
// by the catalogue generation, so a write makes every older answer unreachable
// (and the LRU evicts it). Another replica's writes move this replica's
// generation through the bus (invalidate.go); a write whose event is lost,
// or one made by a process without a bus (the seed command), is caught by
// the expiry: an answer also expires after aggregateTTL.
type aggregateCache = lru.Cache[string, any]

const maxAggregates = 4096

// aggregateTTL bounds how stale an answer can be after a write by another
// process whose bus event did not arrive.
const aggregateTTL = 30 * time.Second

type aggregate struct {
	value   any
	expires time.Time
}

// maxFirstPages bounds the kept first pages of matter lists (each up to
// maxCachedPage matters): a few megabytes at most.
const maxFirstPages = 256

func newAggregateCache(size int) *aggregateCache {
	c, _ := lru.New[string, any](size)
	return c
}

// cachedAggregate returns the cached answer for key in the current
// generation, computing and storing it when absent. Errors are not stored.
func cachedAggregate[T any](s *Service, key string, compute func() (T, error)) (T, error) {
	return cachedIn(s, s.aggregates, key, compute)
}

// cachedIn is cachedAggregate over a given cache.
func cachedIn[T any](s *Service, cache *aggregateCache, key string, compute func() (T, error)) (T, error) {
	gen := s.Generation()
	full := key + "|" + itoa(gen)
	now := time.Now()
	if v, ok := cache.Get(full); ok {
		if a := v.(aggregate); now.Before(a.expires) {
			return a.value.(T), nil
		}
	}
	v, err := compute()
	if err != nil {
		return v, err
	}
	// A write during compute moved the generation on: the answer may be
	// stale, so it is returned but not kept.
	if s.Generation() == gen {
		cache.Add(full, aggregate{value: v, expires: now.Add(aggregateTTL)})
	}
	return v, nil
}

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
