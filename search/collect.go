package search

import (
	"container/heap"
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// topByRelevance returns the first n matches of q in relevance order —
// score descending, then document ID ascending, the order of sortKeys'
// OrderRelevance — after the cursor when one is given, with the number of
// all matches (whatever the cursor, as Bleve counts them).
//
// It does what Bleve's collector does with that sort, but reads a match's
// document ID only when its score ties with one it is compared with. Bleve
// reads every match's sort values before comparing, which for the document
// ID is a stored-field lookup per match: a fifth of a matter-list search on
// 100,000 matters, where a page's boundary ties with some 70–90 matches out
// of thousands. TestTopByRelevanceMatchesBleve checks both give the same
// pages.
func topByRelevance(ctx context.Context, idx bleve.Index, q query.Query, n int, after []string) (*bleve.SearchResult, error) {
	var cursor *scoredDoc
	if after != nil {
		score, err := strconv.ParseFloat(after[0], 64)
		if err != nil {
			return nil, fmt.Errorf("relevance cursor: %w", err)
		}
		cursor = &scoredDoc{score: score, id: after[1], idLoaded: true}
	}
	adv, err := idx.Advanced()
	if err != nil {
		return nil, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	searcher, err := q.Searcher(ctx, r, idx.Mapping(), bsearch.SearcherOptions{})
	if err != nil {
		return nil, err
	}
	defer searcher.Close()
	sctx := &bsearch.SearchContext{DocumentMatchPool: bsearch.NewDocumentMatchPool(searcher.DocumentMatchPoolSize(), 0)}

	page := &docHeap{r: r}
	var total uint64
	dm, err := searcher.Next(sctx)
	for ; err == nil && dm != nil; dm, err = searcher.Next(sctx) {
		total++
		if total%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Most matches score below the page or above the cursor: they
		// are passed over before anything is copied.
		if page.Len() == n && dm.Score < page.docs[0].score || cursor != nil && dm.Score > cursor.score {
			sctx.DocumentMatchPool.Put(dm)
			continue
		}
		d := &scoredDoc{score: dm.Score, internal: slices.Clone(dm.IndexInternalID)}
		sctx.DocumentMatchPool.Put(dm)
		if cursor != nil {
			if less, err := page.before(d, cursor); err != nil {
				return nil, err
			} else if less || d.score == cursor.score && d.id == cursor.id {
				continue // on an earlier page
			}
		}
		if page.Len() < n {
			heap.Push(page, d)
		} else if better, err := page.before(d, page.docs[0]); err != nil {
			return nil, err
		} else if better {
			page.docs[0] = d
			heap.Fix(page, 0)
		}
		if page.err != nil {
			return nil, page.err
		}
	}
	if err != nil {
		return nil, err
	}
	docs := page.docs
	for _, d := range docs {
		if err := page.load(d); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(docs, func(a, b *scoredDoc) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	res := &bleve.SearchResult{Total: total, Hits: make(bsearch.DocumentMatchCollection, len(docs))}
	for i, d := range docs {
		res.Hits[i] = &bsearch.DocumentMatch{ID: d.id, Score: d.score,
			Sort: []string{strconv.FormatFloat(d.score, 'g', -1, 64), d.id}}
	}
	return res, nil
}

// scoredDoc is a match kept for the page; its ID is read when needed.
type scoredDoc struct {
	score    float64
	internal index.IndexInternalID
	id       string
	idLoaded bool
}

// docHeap keeps the best n matches with the worst on top.
type docHeap struct {
	r    index.IndexReader
	docs []*scoredDoc
	err  error // the first ID that could not be read, from Less
}

func (h *docHeap) load(d *scoredDoc) error {
	if d.idLoaded {
		return nil
	}
	id, err := h.r.ExternalID(d.internal)
	if err != nil {
		return err
	}
	d.id, d.idLoaded = id, true
	return nil
}

// before reports whether a comes before b in relevance order.
func (h *docHeap) before(a, b *scoredDoc) (bool, error) {
	if a.score != b.score {
		return a.score > b.score, nil
	}
	if err := h.load(a); err != nil {
		return false, err
	}
	if err := h.load(b); err != nil {
		return false, err
	}
	return a.id < b.id, nil
}

func (h *docHeap) Len() int { return len(h.docs) }

// Less puts the worst match on top.
func (h *docHeap) Less(i, j int) bool {
	later, err := h.before(h.docs[j], h.docs[i])
	if err != nil && h.err == nil {
		h.err = err
	}
	return later
}

func (h *docHeap) Swap(i, j int) { h.docs[i], h.docs[j] = h.docs[j], h.docs[i] }
func (h *docHeap) Push(x any)    { h.docs = append(h.docs, x.(*scoredDoc)) }
func (h *docHeap) Pop() any {
	d := h.docs[len(h.docs)-1]
	h.docs = h.docs[:len(h.docs)-1]
	return d
}
