package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// ResponseCache serves repeated public catalogue queries from memory. A query
// is cacheable only when every root field is in Public: fields whose answer is
// the same for every caller (no viewer, no personal data anywhere beneath
// them). Entries are keyed by the exact request (body or URL query, and the
// Accept header) and belong to a catalogue generation: any catalogue write
// moves the generation on and every older entry is ignored, then evicted.
// Responses with errors are never stored.
//
// When adding a root field to Public, check that nothing beneath it can ever
// depend on who asks.
type ResponseCache struct {
	Public     map[string]bool
	Generation func() uint64
	TTL        time.Duration
	MaxBytes   int64

	mu    sync.Mutex
	size  int64
	cache *lru.Cache[string, *cachedResponse]
}

type cachedResponse struct {
	gen         uint64
	expires     time.Time
	contentType string
	body        []byte
	keyLen      int
}

// cost is what an entry counts against MaxBytes: its key and its body.
func (e *cachedResponse) cost() int64 { return int64(e.keyLen + len(e.body)) }

// maxKeyLen: longer requests are not cached (they are not catalogue pages).
const maxKeyLen = 8 << 10

// maxEntryBytes: larger responses are not cached.
const maxEntryBytes = 512 << 10

// maxEntries bounds the number of entries whatever their size.
const maxEntries = 8192

// NewResponseCache returns a cache holding at most maxBytes of responses.
func NewResponseCache(public []string, generation func() uint64, ttl time.Duration, maxBytes int64) *ResponseCache {
	c := &ResponseCache{Public: map[string]bool{"__typename": true}, Generation: generation, TTL: ttl, MaxBytes: maxBytes}
	for _, f := range public {
		c.Public[f] = true
	}
	c.cache, _ = lru.NewWithEvict[string, *cachedResponse](maxEntries, func(_ string, v *cachedResponse) {
		c.size -= v.cost()
	})
	return c
}

func (c *ResponseCache) get(key string, gen uint64, now time.Time) *cachedResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache.Get(key)
	if !ok {
		return nil
	}
	if e.gen != gen || now.After(e.expires) {
		c.cache.Remove(key)
		return nil
	}
	return e
}

func (c *ResponseCache) put(key string, e *cachedResponse) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.cache.Peek(key); ok {
		c.size -= old.cost()
	}
	e.keyLen = len(key)
	c.cache.Add(key, e)
	c.size += e.cost()
	for c.size > c.MaxBytes {
		if _, _, ok := c.cache.RemoveOldest(); !ok {
			break
		}
	}
}

// Middleware wraps the GraphQL handler; it must run after Guard.
func (c *ResponseCache) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var payload []byte
		switch r.Method {
		case http.MethodPost:
			payload = requestBody(r)
		case http.MethodGet:
			if r.Header.Get("Upgrade") == "" {
				payload = []byte(r.URL.RawQuery)
			}
		}
		if len(payload) == 0 || len(payload) > maxKeyLen {
			cacheLookups.WithLabelValues("bypass").Inc()
			next.ServeHTTP(w, r)
			return
		}
		key := r.Method + "\x00" + r.Header.Get("Accept") + "\x00" + r.Header.Get("Content-Type") + "\x00" + string(payload)
		gen, now := c.Generation(), time.Now()
		if e := c.get(key, gen, now); e != nil {
			cacheLookups.WithLabelValues("hit").Inc()
			w.Header().Set("Content-Type", e.contentType)
			w.Header().Set("X-Cache", "hit")
			_, _ = w.Write(e.body)
			return
		}
		// Requests that cannot be cached leave nothing behind: parsing them
		// again is cheaper than remembering them.
		if !c.cacheable(r, payload) {
			cacheLookups.WithLabelValues("bypass").Inc()
			next.ServeHTTP(w, r)
			return
		}
		cacheLookups.WithLabelValues("miss").Inc()
		rec := &recorder{header: w.Header()}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		body := rec.buf.Bytes()
		if status == http.StatusOK && len(body) <= maxEntryBytes && !bytes.Contains(body, []byte(`"errors"`)) {
			c.put(key, &cachedResponse{gen: gen, expires: now.Add(c.TTL),
				contentType: w.Header().Get("Content-Type"), body: bytes.Clone(body)})
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
}

// cacheable parses the request's operation and checks its root fields.
func (c *ResponseCache) cacheable(r *http.Request, payload []byte) bool {
	var p struct {
		Query         string          `json:"query"`
		OperationName string          `json:"operationName"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if r.Method == http.MethodPost {
		if !isJSON(r.Header.Get("Content-Type")) || json.Unmarshal(payload, &p) != nil {
			return false
		}
	} else {
		q := r.URL.Query()
		p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
		if q.Get("extensions") != "" {
			p.Extensions = json.RawMessage("{}")
		}
	}
	if p.Query == "" || len(p.Extensions) > 0 {
		return false
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		return false
	}
	var op *ast.OperationDefinition
	if p.OperationName == "" && len(doc.Operations) == 1 {
		op = doc.Operations[0]
	} else {
		op = doc.Operations.ForName(p.OperationName)
	}
	if op == nil || op.Operation != ast.Query || len(op.SelectionSet) == 0 {
		return false
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || !c.Public[f.Name] {
			return false
		}
	}
	return true
}

// recorder buffers a response so it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(b []byte) (int, error) { return r.buf.Write(b) }
