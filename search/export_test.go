package search

import (
	"context"
	"fmt"
	"strconv"

	"github.com/blevesearch/bleve/v2"
)

// RelevancePages pages through a query in relevance order twice, pageSize
// at a time: through Bleve's collector sorting on score then document ID,
// and through topByRelevance. It returns each run's "ID score" lines and
// totals.
func RelevancePages(s *Service, text string, pageSize int, sc Scope, matters bool) (theirs, ours []string, theirTotal, ourTotal uint64, err error) {
	ctx := context.Background()
	p, err := parseQuery(text)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	idx, release, err := s.index()
	if err != nil {
		return nil, nil, 0, 0, err
	}
	defer release()
	var mf *MatterFilter
	if matters {
		mf = &MatterFilter{}
	}
	q := s.build(ctx, p, sc, nil, mf, strictMatch)
	page := func(after []string, viaBleve bool) (*bleve.SearchResult, error) {
		if !viaBleve {
			return topByRelevance(ctx, idx, q, pageSize, after)
		}
		sr := bleve.NewSearchRequestOptions(q, pageSize, 0, false)
		sr.SortBy(sortKeys[OrderRelevance])
		if after != nil {
			sr.SetSearchAfter(after)
		}
		return idx.SearchInContext(ctx, sr)
	}
	run := func(viaBleve bool) ([]string, uint64, error) {
		var lines []string
		var after []string
		var total uint64
		for pages := 0; pages < 1000; pages++ {
			res, err := page(after, viaBleve)
			if err != nil {
				return nil, 0, err
			}
			total = res.Total
			for _, h := range res.Hits {
				lines = append(lines, fmt.Sprintf("%s %g", h.ID, h.Score))
			}
			if len(res.Hits) < pageSize {
				return lines, total, nil
			}
			last := res.Hits[len(res.Hits)-1]
			after = []string{strconv.FormatFloat(last.Score, 'g', -1, 64), last.ID}
		}
		return nil, 0, fmt.Errorf("more than 1000 pages")
	}
	if theirs, theirTotal, err = run(true); err != nil {
		return
	}
	ours, ourTotal, err = run(false)
	return
}
