package search

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"golang.org/x/text/width"

	"govmobile/models"
	"govmobile/pagination"
)

// Scope narrows a search to one kind of result (8.1.2 c).
type Scope string

// The search scopes.
const (
	ScopeAll           Scope = "ALL"
	ScopeApp           Scope = "APP"
	ScopeNaturalPerson Scope = "NATURAL_PERSON"
	ScopeLegalPerson   Scope = "LEGAL_PERSON"
	ScopeGuide         Scope = "GUIDE"
	ScopeApproval      Scope = "APPROVAL"
	ScopeKnowledge     Scope = "KNOWLEDGE"
	// ScopeHall finds service halls by name and address; ALL leaves them
	// out (they are places, shown on the service map, not services).
	ScopeHall Scope = "HALL"
)

// FacetScopes are the scopes counted in facets: every scope but halls
// (searched on their own; ALL does not hold them).
var FacetScopes = []Scope{ScopeAll, ScopeApp, ScopeNaturalPerson, ScopeLegalPerson, ScopeGuide, ScopeApproval, ScopeKnowledge}

// Scopes lists every scope in display order.
var Scopes = []Scope{ScopeAll, ScopeApp, ScopeNaturalPerson, ScopeLegalPerson, ScopeGuide, ScopeApproval, ScopeKnowledge, ScopeHall}

// Order is a result order.
type Order string

// The result orders.
const (
	OrderRelevance  Order = "RELEVANCE"
	OrderPopularity Order = "POPULARITY"
	OrderRecency    Order = "RECENCY"
	OrderNameAsc    Order = "NAME_ASC"
	OrderNameDesc   Order = "NAME_DESC"
	OrderPopAsc     Order = "POPULARITY_ASC"
	OrderRecencyAsc Order = "RECENCY_ASC"
)

// sortKeys is each order's bleve sort. Every key field ends with the
// document ID, so one doc-value field makes the order total: a numeric
// field's doc values hold all its prefix-coded terms. Relevance breaks ties
// on the document ID, not on popularity: Bleve reads a sort field's doc
// value for every match before comparing it with the page, which made a
// one-word search five times slower (docs/benchmarks.md §3); popularity
// is its own order.
var sortKeys = map[Order][]string{
	OrderRelevance:  {"-_score", "_id"},
	OrderPopularity: {"-" + fieldPopKey},
	OrderPopAsc:     {fieldPopKey},
	OrderRecency:    {"-" + fieldRecentKey},
	OrderRecencyAsc: {fieldRecentKey},
	OrderNameAsc:    {fieldNameKey},
	OrderNameDesc:   {"-" + fieldNameKey},
}

// MaxQueryLength bounds a query, in characters.
const MaxQueryLength = 50

// maxPieces bounds the space-separated words of a query that are used.
const maxPieces = 8

// Request is one search.
type Request struct {
	Query string
	Scope Scope
	Order Order
	First int
	After string
	// Region, when set, keeps what a resident of that region can use there.
	Region *models.Region
	// Facets asks for the count of every scope.
	Facets bool
	// Matters, when set, searches matters only with these filters (the
	// keyword of the matter list).
	Matters *MatterFilter
	// NoLog keeps the search out of the search log (the matter list's
	// keyword is a filter, not a search a citizen typed).
	NoLog bool
}

// maxOnlineDepth is the deepest online-handling depth a matter declares.
const maxOnlineDepth = 9

// MatterFilter mirrors the matter list's filters inside the index.
type MatterFilter struct {
	Nature     models.MatterNature
	Object     models.ServiceObject
	AgencyID   uint64
	ThemeID    uint64
	Level      models.AdminLevel
	OnlineOnly bool
	MinOnline  int
}

// Hit is one result.
type Hit struct {
	Kind   models.SearchDocKind
	ID     uint64
	Score  float64
	Cursor string
}

// Result is a page of results.
type Result struct {
	Hits    []Hit
	Total   int
	HasNext bool
	// Facets counts the results of every scope, when asked for.
	Facets map[Scope]int
	// Terms are the words to highlight in snippets.
	Terms []string
}

// parsed is a cleaned query.
type parsed struct {
	text   string
	pieces []string
}

// parseQuery normalises what a citizen typed: full-width forms folded,
// letters lowercased, and everything that is not a letter or a digit
// (query-syntax characters, punctuation, emoji) turned into a space. Bleve
// queries are built from the pieces, never parsed from the text, so no input
// reaches a query parser.
func parseQuery(q string) (parsed, error) {
	if !utf8.ValidString(q) || strings.IndexFunc(q, func(r rune) bool {
		return unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r'
	}) >= 0 {
		return parsed{}, models.InvalidField("query", "搜索内容含有无法识别的字符。")
	}
	if utf8.RuneCountInString(q) > MaxQueryLength {
		return parsed{}, models.InvalidField("query", fmt.Sprintf("搜索内容不能超过%d个字，请精简后再试。", MaxQueryLength))
	}
	folded := width.Fold.String(q)
	clean := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return ' '
	}, folded)
	pieces := dropStopwords(strings.Fields(clean))
	if len(pieces) > maxPieces {
		pieces = pieces[:maxPieces]
	}
	if strings.TrimSpace(q) == "" {
		return parsed{}, models.InvalidField("query", "请输入要搜索的内容。")
	}
	return parsed{text: strings.Join(pieces, " "), pieces: pieces}, nil
}

// stopwords are the question words of how people ask (怎么补办身份证, 护照
// 在哪里办): they say nothing about the matter and match everywhere. They are
// cut out of a word, unless nothing would be left.
var stopwords = []string{"怎么办理", "如何办理", "怎么办", "怎么", "如何", "怎样", "在哪里", "在哪儿", "哪里", "去哪", "什么", "我想", "我要", "需要", "可以", "请问", "一下", "的"}

func dropStopwords(pieces []string) []string {
	out := make([]string, 0, len(pieces))
	for _, p := range pieces {
		q := p
		for _, w := range stopwords {
			q = strings.ReplaceAll(q, w, " ")
		}
		if f := strings.Fields(q); len(f) > 0 {
			out = append(out, f...)
		} else if len(pieces) == 1 {
			out = append(out, p)
		}
	}
	return out
}

// HasWords reports whether a query has anything to search for once
// punctuation and symbols are set aside; invalid queries report true, so
// that searching them gives the error.
func HasWords(q string) bool {
	p, err := parseQuery(q)
	return err != nil || len(p.pieces) > 0
}

// fieldWeight is a text field and its boost.
type fieldWeight struct {
	field string
	boost float64
}

// Weights measured on the relevance set (docs/search.md): a name or an alias
// that matches says most; the place typed next to a matter narrows it.
// The name's field holds the aliases too, and the summary's the agency:
// every field is one more posting list for every word to walk.
// Guide text is searched only in the GUIDE scope: it is most of every
// document's postings, and on 100,000 matters it tripled the cost of every
// query while moving no result of the relevance sets.
var textFields = []fieldWeight{
	{fieldName, 5}, {fieldRegion, 2}, {fieldSummary, 1},
}

// rewriteFields are where a synonym's official wording is looked for: the
// words of a place or an agency are not synonyms of anything, and looking
// in summaries too doubled the cost of 营业执照 on 100,000 matters.
var rewriteFields = map[string]bool{fieldName: true, fieldBody: true}

var guideFields = []fieldWeight{{fieldBody, 1}}

func isPinyinInput(p string) bool {
	for _, r := range p {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return strings.IndexFunc(p, unicode.IsLetter) >= 0
}

// matchMode is how strictly a query's words must match. A search starts
// strict and relaxes only when that finds nothing.
type matchMode int

const (
	// strictMatch: every word matches, each by at least three quarters of
	// its character pairs in one field. 营业执照 then finds what says 营业执照,
	// not the 44,000 of 100,000 matters that mention 执照 or 营业 somewhere —
	// more precise, and an order of magnitude faster.
	strictMatch matchMode = iota
	// strictAnyWord: any word matches strictly (看病报销 外地 → 异地就医备案
	// through the alias 外地看病备案).
	strictAnyWord
	// everyWord: every word matches, each by any of its character pairs.
	// Matching any word by any pair is not tried: on 100,000 matters it
	// matched most of them and took seconds.
	everyWord
	// lastMode: any word, strictly, when every word loosely found nothing.
	lastMode
)

// tokens analyses text as queries are analysed.
func (s *Service) tokens(text string) []string {
	a := s.mapping.AnalyzerNamed(s.queryAnalyzer)
	if a == nil {
		return strings.Fields(text)
	}
	var out, singles []string
	seen := map[string]bool{}
	for _, t := range a.Analyze([]byte(text)) {
		w := string(t.Term)
		if seen[w] {
			continue
		}
		seen[w] = true
		if utf8.RuneCountInString(w) == 1 {
			singles = append(singles, w)
		} else {
			out = append(out, w)
		}
	}
	// A character standing alone next to longer words (证 in the rewrite
	// 换领 换发 证) matches nearly every document through the unigram
	// postings; it is kept only when the text has nothing else (税).
	if len(out) == 0 {
		return singles
	}
	return out
}

// pieceQuery matches one word of the query in the given fields, directly,
// through its synonyms, and as pinyin or initials.
func (s *Service) pieceQuery(p string, fields []fieldWeight, rewrites []string, mode matchMode) query.Query {
	var alts []query.Query
	add := func(text string, boost float64, rewrite bool) {
		toks := s.tokens(text)
		if len(toks) == 0 {
			return
		}
		need := 1
		switch {
		case rewrite && !strings.Contains(text, " "):
			need = len(toks)
		case mode != everyWord:
			need = (3*len(toks) + 3) / 4
		}
		for _, f := range fields {
			if rewrite && !rewriteFields[f.field] {
				continue
			}
			alts = append(alts, atLeast(f.field, toks, need, f.boost*boost))
		}
	}
	add(p, 1, false)
	for _, r := range rewrites {
		add(r, 0.8, true)
	}
	if isPinyinInput(p) && len(fields) > 1 {
		for _, f := range []fieldWeight{{fieldPinyin, 5}, {fieldInitials, 4}} {
			t := bleve.NewTermQuery(p)
			t.SetField(f.field)
			t.SetBoost(f.boost)
			alts = append(alts, t)
			if len(p) >= 2 {
				pq := bleve.NewPrefixQuery(p)
				pq.SetField(f.field)
				pq.SetBoost(f.boost / 3)
				alts = append(alts, pq)
			}
		}
	}
	return bleve.NewDisjunctionQuery(alts...)
}

// maxCombinations bounds the conjunctions atLeast spells out.
const maxCombinations = 10

// atLeast matches documents whose field has at least need of the terms.
// A disjunction with a minimum walks the union of every term's postings (on
// 100,000 matters, every document saying 办理); conjunctions are driven by
// their rarest term and skip the rest. So "all of" is a conjunction, and
// "all but one or two" the disjunction of the conjunctions of each
// combination, while there are few of them.
func atLeast(field string, toks []string, need int, boost float64) query.Query {
	terms := make([]query.Query, len(toks))
	for i, t := range toks {
		terms[i] = term(field, t)
	}
	var q interface {
		query.Query
		SetBoost(float64)
	}
	switch combos := combinations(len(toks), need); {
	case need >= len(toks):
		q = bleve.NewConjunctionQuery(terms...)
	case need <= 1 || len(combos) > maxCombinations:
		d := bleve.NewDisjunctionQuery(terms...)
		d.SetMin(float64(need))
		q = d
	default:
		alts := make([]query.Query, len(combos))
		for i, c := range combos {
			parts := make([]query.Query, len(c))
			for j, k := range c {
				parts[j] = terms[k]
			}
			alts[i] = bleve.NewConjunctionQuery(parts...)
		}
		q = bleve.NewDisjunctionQuery(alts...)
	}
	q.SetBoost(boost)
	return q
}

// combinations lists the k-element subsets of 0..n-1, stopping once there
// are more than maxCombinations.
func combinations(n, k int) [][]int {
	if k <= 0 || k > n {
		return nil
	}
	var out [][]int
	cur := make([]int, 0, k)
	var walk func(start int)
	walk = func(start int) {
		if len(out) > maxCombinations {
			return
		}
		if len(cur) == k {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i <= n-(k-len(cur)); i++ {
			cur = append(cur, i)
			walk(i + 1)
			cur = cur[:len(cur)-1]
		}
	}
	walk(0)
	return out
}

func term(field, value string) query.Query {
	t := bleve.NewTermQuery(value)
	t.SetField(field)
	return t
}

func anyTerm(field string, values ...string) query.Query {
	qs := make([]query.Query, len(values))
	for i, v := range values {
		qs[i] = term(field, v)
	}
	return bleve.NewDisjunctionQuery(qs...)
}

// regionQuery keeps what a resident of r can use there: what is implemented
// in r or below it, what r's ancestors implement themselves, and what is
// offered nationwide. It is the index's form of catalogue's region rule.
func regionQuery(r *models.Region) query.Query {
	switch r.Level {
	case models.RegionProvince:
		return anyTerm(fieldProvince, r.Code, nationwide)
	case models.RegionCity:
		return bleve.NewDisjunctionQuery(term(fieldCity, r.Code), anyTerm(fieldRegionC, r.ProvinceCode, nationwide))
	default:
		codes := []string{r.Code, r.ProvinceCode, nationwide}
		if r.CityCode != "" {
			codes = append(codes, r.CityCode)
		}
		return anyTerm(fieldRegionC, codes...)
	}
}

func scopeFilter(sc Scope) query.Query {
	switch sc {
	case ScopeApp:
		return term(fieldScopes, scopeApp)
	case ScopeNaturalPerson, ScopeLegalPerson, ScopeApproval:
		return term(fieldScopes, string(sc))
	case ScopeGuide:
		return term(fieldScopes, scopeMatter)
	case ScopeKnowledge:
		return term(fieldScopes, scopeKnowledge)
	case ScopeHall:
		return term(fieldScopes, scopeHall)
	}
	return nil
}

func matterFilters(f *MatterFilter) []query.Query {
	var qs []query.Query
	if f.Nature != "" {
		qs = append(qs, term(fieldNature, string(f.Nature)))
	}
	if f.Object != "" {
		qs = append(qs, term(fieldObjects, string(f.Object)))
	}
	if f.AgencyID != 0 {
		qs = append(qs, term(fieldAgencyID, strconv.FormatUint(f.AgencyID, 10)))
	}
	if f.ThemeID != 0 {
		qs = append(qs, term(fieldThemes, strconv.FormatUint(f.ThemeID, 10)))
	}
	if f.Level != "" {
		qs = append(qs, term(fieldLevel, string(f.Level)))
	}
	if f.OnlineOnly {
		var depths []string
		for d := f.MinOnline; d <= maxOnlineDepth; d++ {
			depths = append(depths, strconv.Itoa(d))
		}
		qs = append(qs, anyTerm(fieldOnline, depths...))
	}
	return qs
}

// build makes the bleve query: every piece must match (or, when that finds
// nothing, any piece may), within the scope and region.
func (s *Service) build(ctx context.Context, p parsed, sc Scope, region *models.Region, mf *MatterFilter, mode matchMode) query.Query {
	fields := textFields
	if sc == ScopeGuide {
		fields = guideFields
	}
	syn := s.synonyms.get(ctx)
	pieceQs := make([]query.Query, len(p.pieces))
	for i, piece := range p.pieces {
		pieceQs[i] = s.pieceQuery(piece, fields, syn.rewrite(piece), mode)
	}
	var text query.Query
	if mode == strictAnyWord || mode == lastMode {
		text = bleve.NewDisjunctionQuery(pieceQs...)
	} else {
		text = bleve.NewConjunctionQuery(pieceQs...)
	}
	must := []query.Query{text}
	if f := scopeFilter(sc); f != nil {
		must = append(must, f)
	}
	if region != nil {
		must = append(must, regionQuery(region))
	}
	if mf != nil {
		must = append(must, matterFilters(mf)...)
		// Matters only, by leaving out the other kinds: nearly every
		// document is a matter, and a conjunction with "kind is matter"
		// advanced that posting list for every match; the other kinds'
		// lists are a few dozen documents.
		var others []query.Query
		for _, k := range indexedKinds {
			if k != models.DocMatter {
				others = append(others, term(fieldKind, string(k)))
			}
		}
		return query.NewBooleanQuery(must, nil, others)
	}
	if sc == ScopeAll {
		// Everything but halls and consultations (few, next to matters).
		return query.NewBooleanQuery(must, nil, []query.Query{term(fieldKind, string(models.DocHall)), term(fieldKind, string(models.DocConsultation))})
	}
	return bleve.NewConjunctionQuery(must...)
}

// Search runs a search and logs it.
func (s *Service) Search(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	p, err := parseQuery(req.Query)
	if err != nil {
		return nil, err
	}
	if req.Scope == "" {
		req.Scope = ScopeAll
	}
	if req.Order == "" {
		req.Order = OrderRelevance
	}
	keys, ok := sortKeys[req.Order]
	if !ok {
		return nil, models.InvalidField("orderBy", "不支持的排序方式。")
	}
	var after []string
	if req.After != "" {
		if after, err = pagination.DecodeValues(req.After, "search:"+string(req.Order), len(keys)); err != nil {
			return nil, err
		}
		if err := checkAfter(keys, after); err != nil {
			return nil, err
		}
	}
	res := &Result{Terms: s.highlightTerms(ctx, p)}
	if len(p.pieces) == 0 {
		// Only punctuation or emoji: nothing can match.
		res.Facets = map[Scope]int{}
		s.record(req, p, 0, start)
		return res, nil
	}
	idx, release, err := s.index()
	if err != nil {
		return nil, err
	}
	defer release()
	first := max(req.First, 1)
	// The first page of the ALL tab counts the scopes in the same pass (in
	// Bleve's collector, which relevance pages then use too: it measured
	// faster than topByRelevance plus an unscored facet request); other
	// tabs and pages ask once more, unscored.
	facetsInline := req.Facets && req.Scope == ScopeAll && req.Matters == nil && after == nil
	run := func(mode matchMode) (*bleve.SearchResult, error) {
		q := s.build(ctx, p, req.Scope, req.Region, req.Matters, mode)
		if req.Order == OrderRelevance && !facetsInline {
			return topByRelevance(ctx, idx, q, first+1, after)
		}
		sr := bleve.NewSearchRequestOptions(q, first+1, 0, false)
		sr.SortBy(keys)
		if after != nil {
			sr.SetSearchAfter(after)
		}
		if facetsInline {
			sr.AddFacet("scopes", scopesFacet())
		}
		return idx.SearchInContext(ctx, sr)
	}
	// Relax until something matches. The total counts every match,
	// whatever the cursor, so later pages settle on the same mode as the
	// first.
	mode := strictMatch
	next := func() bool {
		mode++
		if mode == strictAnyWord {
			// Any word of several, strictly, only after every word
			// loosely has failed: on 100,000 matters a broad word (企业)
			// alone matched most of them.
			mode++
		}
		return mode <= lastMode
	}
	var sr *bleve.SearchResult
	if req.Scope != ScopeAll && req.Matters == nil {
		// A scope tab shows what the ALL tab's matching found in that
		// scope, so its count is the facet's: relaxing on its own, a tab
		// would fill up with what merely shares a character.
		// Halls are not in the ALL tab: their tab settles on its own count.
		settle := ScopeAll
		if req.Scope == ScopeHall {
			settle = ScopeHall
		}
		for {
			n, cerr := s.count(ctx, idx, s.build(ctx, p, settle, req.Region, nil, mode))
			if cerr != nil {
				return nil, s.searchError(ctx, cerr)
			}
			if n > 0 || mode == lastMode {
				break
			}
			next()
		}
		sr, err = run(mode)
	} else {
		sr, err = run(mode)
		for err == nil && sr.Total == 0 && next() {
			sr, err = run(mode)
		}
	}
	if err != nil {
		return nil, s.searchError(ctx, err)
	}
	res.Total = int(sr.Total)
	hits := sr.Hits
	if len(hits) > first {
		hits, res.HasNext = hits[:first], true
	}
	for _, h := range hits {
		kind, id, ok := parseDocID(h.ID)
		if !ok {
			continue
		}
		vals := make([]string, len(keys))
		for i, k := range keys {
			if strings.TrimPrefix(k, "-") == "_score" {
				vals[i] = strconv.FormatFloat(h.Score, 'g', -1, 64)
			} else if i < len(h.Sort) {
				vals[i] = h.Sort[i]
			}
		}
		res.Hits = append(res.Hits, Hit{Kind: kind, ID: id, Score: h.Score, Cursor: pagination.EncodeValues("search:"+string(req.Order), vals)})
	}
	if req.Facets {
		var counted *bleve.SearchResult
		if facetsInline {
			counted = sr
		}
		if res.Facets, err = s.facets(ctx, idx, p, req.Region, mode, counted); err != nil {
			return nil, s.searchError(ctx, err)
		}
	}
	if !req.NoLog && req.After == "" {
		s.record(req, p, res.Total, start)
	}
	return res, nil
}

// checkAfter refuses cursor values that do not fit their sort keys, before
// bleve sees them.
func checkAfter(keys, after []string) error {
	for i, k := range keys {
		v := after[i]
		switch strings.TrimPrefix(k, "-") {
		case "_score":
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
			}
		case "_id":
			if _, _, ok := parseDocID(v); !ok {
				return models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
			}
		default:
			if !validSortKey(v) {
				return models.InvalidField("after", "分页游标 after 无效，请从第一页重新查询。")
			}
		}
	}
	return nil
}

func (s *Service) searchError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("search: %w", err)
}

func (s *Service) count(ctx context.Context, idx bleve.Index, q query.Query) (uint64, error) {
	sr := bleve.NewSearchRequestOptions(q, 0, 0, false)
	sr.Score = bleve.ScoreNone
	res, err := idx.SearchInContext(ctx, sr)
	if err != nil {
		return 0, err
	}
	return res.Total, nil
}

// scopesFacet counts results by their stored scopes.
func scopesFacet() *bleve.FacetRequest { return bleve.NewFacetRequest(fieldScopes, 10) }

// facets counts the query's results in every scope: a term facet over the
// stored scopes, and one count for guide text. res, when given, is the ALL
// tab's first page, which counted the scopes in its own pass.
func (s *Service) facets(ctx context.Context, idx bleve.Index, p parsed, region *models.Region, mode matchMode, res *bleve.SearchResult) (map[Scope]int, error) {
	out := map[Scope]int{}
	if res == nil {
		sr := bleve.NewSearchRequestOptions(s.build(ctx, p, ScopeAll, region, nil, mode), 0, 0, false)
		sr.Score = bleve.ScoreNone
		sr.AddFacet("scopes", scopesFacet())
		var err error
		if res, err = idx.SearchInContext(ctx, sr); err != nil {
			return nil, err
		}
	}
	out[ScopeAll] = int(res.Total)
	if f := res.Facets["scopes"]; f != nil && f.Terms != nil {
		for _, t := range f.Terms.Terms() {
			switch t.Term {
			case scopeApp:
				out[ScopeApp] = t.Count
			case scopeKnowledge:
				out[ScopeKnowledge] = t.Count
			case string(ScopeNaturalPerson), string(ScopeLegalPerson), string(ScopeApproval):
				out[Scope(t.Term)] = t.Count
			}
		}
	}
	n, err := s.count(ctx, idx, s.build(ctx, p, ScopeGuide, region, nil, mode))
	if err != nil {
		return nil, err
	}
	out[ScopeGuide] = int(n)
	return out, nil
}

// highlightTerms are the words a snippet marks: the pieces, their synonym
// rewrites, and the pairs of characters the index matched on.
func (s *Service) highlightTerms(ctx context.Context, p parsed) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	syn := s.synonyms.get(ctx)
	for _, piece := range p.pieces {
		if isPinyinInput(piece) && len(piece) < 2 {
			continue
		}
		texts := append([]string{piece}, syn.rewrite(piece)...)
		for _, t := range texts {
			for _, w := range strings.Fields(t) {
				add(w)
				r := []rune(w)
				for i := 0; i+1 < len(r); i++ {
					if unicode.Is(unicode.Han, r[i]) && unicode.Is(unicode.Han, r[i+1]) {
						add(string(r[i : i+2]))
					}
				}
			}
		}
	}
	return out
}
