package audit

import (
	"context"
	"slices"
	"sync"

	"govmobile/models"
)

// Reads of personal data in clear by administrators are audit-logged too
// (SPEC §4: unmasked values reach only an administrator holding an explicit
// permission, "and such reads are audit-logged"). A list page may show many
// such objects, so the reads of one operation are collected as the fields
// resolve and written as one row when the operation's answer is ready: its
// operation is "read:" and the operation's name, its arguments the objects
// read, by kind.

type readsKey struct{}

type reads struct {
	mu    sync.Mutex
	items map[string][]uint64
}

// WithReads gives an operation's context a collector of clear reads.
func WithReads(ctx context.Context) context.Context {
	return context.WithValue(ctx, readsKey{}, &reads{items: map[string][]uint64{}})
}

// NoteRead records that the operation showed an object's personal data in
// clear to an administrator (kind: "case", …). Without a collector (a
// background job) it does nothing.
func NoteRead(ctx context.Context, kind string, id uint64) {
	r, _ := ctx.Value(readsKey{}).(*reads)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.items[kind], id) {
		r.items[kind] = append(r.items[kind], id)
	}
}

// PendingReads reports whether the operation has clear reads to write.
func PendingReads(ctx context.Context) bool {
	r, _ := ctx.Value(readsKey{}).(*reads)
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items) > 0
}

// FlushReads writes the clear reads collected so far as one entry of the
// administrator's, and empties the collector (a subscription flushes once
// per event). Nothing is written when nothing was read.
func (s *Service) FlushReads(ctx context.Context, admin *models.Admin, operation, ip string) error {
	r, _ := ctx.Value(readsKey{}).(*reads)
	if r == nil || admin == nil {
		return nil
	}
	r.mu.Lock()
	items := r.items
	r.items = map[string][]uint64{}
	r.mu.Unlock()
	if len(items) == 0 {
		return nil
	}
	args := make(map[string]any, len(items))
	for kind, ids := range items {
		slices.Sort(ids)
		args[kind] = ids
	}
	return s.Record(ctx, Entry{Admin: admin, Operation: "read:" + operation, Arguments: args, Outcome: "OK", IP: ip})
}
