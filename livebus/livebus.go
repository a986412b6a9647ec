// Package livebus delivers values published under a key to the listeners
// of that key in this process: a user's messages, a chat's lines. A
// listener that does not keep up loses values rather than holding up the
// others (what is delivered live is also stored). Values reach the hubs of
// other replicas through package bus, never through this one.
package livebus

import (
	"context"
	"sync"
)

// Hub is a set of listeners by key, each key holding at most max of them.
type Hub[K comparable, V any] struct {
	max       int
	mu        sync.Mutex
	listeners map[K]map[chan V]struct{}
}

// New returns a hub allowing max listeners per key (0: no bound).
func New[K comparable, V any](max int) *Hub[K, V] {
	return &Hub[K, V]{max: max, listeners: map[K]map[chan V]struct{}{}}
}

// Listen returns the values published under key until ctx ends; ok is
// false when the key already has its maximum of listeners.
func (h *Hub[K, V]) Listen(ctx context.Context, key K) (ch <-chan V, ok bool) {
	c := make(chan V, 16)
	h.mu.Lock()
	if h.max > 0 && len(h.listeners[key]) >= h.max {
		h.mu.Unlock()
		return nil, false
	}
	if h.listeners[key] == nil {
		h.listeners[key] = map[chan V]struct{}{}
	}
	h.listeners[key][c] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.listeners[key], c)
		if len(h.listeners[key]) == 0 {
			delete(h.listeners, key)
		}
		h.mu.Unlock()
		close(c)
	}()
	return c, true
}

// Publish hands v to the listeners of key.
func (h *Hub[K, V]) Publish(key K, v V) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.listeners[key] {
		select {
		case c <- v:
		default:
		}
	}
}
