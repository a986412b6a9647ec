package search

import (
	"context"
	"strconv"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Questions (智能问答, 8.1.2 j) are sentences, not search words: 我的社保卡丢了
// 怎么办 analyses into 我的 的社 社保 保卡 卡丢 丢了 了怎 怎么 么办, and
// requiring every word, as a search does, finds nothing. A question keeps
// only its content words — pairs with no function character (的 了 怎 么
// …) — and an entry matches on any of them, more matched words scoring
// higher. How much of the question the best entry covers is the answer's
// confidence.

// functionChars are characters that only carry the grammar of a question
// (particles, pronouns, question words): a word containing one says
// nothing about what is asked. Characters that are also common parts of
// content words (会 in 社会, 过 in 过期, 个 in 个人) are not among them.
const functionChars = "的了吗呢啊吧么怎我你您他她它是在要哪什和与及或请问把被给这那也都就还嘛呀哦啥咋谁"

// functionWords are question words made of characters that are otherwise
// content.
var functionWords = map[string]bool{"如何": true, "多久": true, "多少": true, "可以": true, "能否": true, "是否": true,
	"需要": true, "怎样": true, "为何": true, "有没": true, "没有": true, "一下": true, "想办": true, "想问": true}

// maxQuestionRunes bounds the part of a question that is analysed.
const maxQuestionRunes = 200

// QuestionTerms are the content words of a question.
func (s *Service) QuestionTerms(question string) []string {
	if r := []rune(question); len(r) > maxQuestionRunes {
		question = string(r[:maxQuestionRunes])
	}
	var out []string
	seen := map[string]bool{}
	for _, w := range s.tokens(strings.ToLower(question)) {
		if seen[w] || functionWords[w] || strings.ContainsAny(w, functionChars) {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// Coverage is the share of terms found among the content words of text,
// from 0 to 1.
func (s *Service) Coverage(terms []string, text string) float64 {
	if len(terms) == 0 {
		return 0
	}
	have := map[string]bool{}
	for _, w := range s.QuestionTerms(text) {
		have[w] = true
	}
	n := 0
	for _, t := range terms {
		if have[t] {
			n++
		}
	}
	return float64(n) / float64(len(terms))
}

// AskKnowledge finds the knowledge entries that best answer a question, at
// most n, best first, and the question's content words.
func (s *Service) AskKnowledge(ctx context.Context, question string, n int) ([]Hit, []string, error) {
	terms := s.QuestionTerms(question)
	hits, err := s.anyWord(ctx, terms, n, fieldName, fieldSummary, scopeFilter(ScopeKnowledge))
	return hits, terms, err
}

// SimilarConsultations finds submitted consultations like a text, at most
// n, most alike first: the author's own (ownerID), or an agency's
// (agencyID). Consultations are reachable only this way.
func (s *Service) SimilarConsultations(ctx context.Context, text string, ownerID, agencyID uint64, n int) ([]Hit, error) {
	filters := []query.Query{term(fieldScopes, scopeConsultation)}
	switch {
	case ownerID != 0:
		filters = append(filters, term(fieldOwner, strconv.FormatUint(ownerID, 10)))
	case agencyID != 0:
		filters = append(filters, term(fieldAgencyID, strconv.FormatUint(agencyID, 10)))
	default:
		return nil, nil
	}
	// Digits in the query are masked as the documents' were, and the
	// placeholder left out: it would match every masked number.
	return s.anyWord(ctx, s.QuestionTerms(strings.ReplaceAll(MaskDigits(text), maskedDigits, " ")), n, fieldCText, "", filters...)
}

// anyWord finds documents matching any of terms within the filters, more
// matched words scoring higher; a word in the main field counts three times
// a word in the second (none when "").
func (s *Service) anyWord(ctx context.Context, terms []string, n int, main, second string, filters ...query.Query) ([]Hit, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	idx, release, err := s.index()
	if err != nil {
		return nil, s.searchError(ctx, err)
	}
	defer release()
	var should []query.Query
	for _, t := range terms {
		inMain := bleve.NewTermQuery(t)
		inMain.SetField(main)
		inMain.SetBoost(3)
		should = append(should, inMain)
		if second != "" {
			inSecond := bleve.NewTermQuery(t)
			inSecond.SetField(second)
			should = append(should, inSecond)
		}
	}
	q := bleve.NewConjunctionQuery(append(filters, bleve.NewDisjunctionQuery(should...))...)
	res, err := idx.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, n, 0, false))
	if err != nil {
		return nil, s.searchError(ctx, err)
	}
	hits := make([]Hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		if kind, id, ok := parseDocID(h.ID); ok {
			hits = append(hits, Hit{Kind: kind, ID: id, Score: h.Score})
		}
	}
	return hits, nil
}
