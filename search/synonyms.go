package search

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/models"
)

// synonymsTSV is the default synonym list loaded into a new database; from
// then on administrators own the list (8.2.5).
//
//go:embed defaults/synonyms.tsv
var synonymsTSV []byte

// DefaultSynonyms parses the built-in list.
func DefaultSynonyms() ([]models.SearchSynonym, error) {
	var out []models.SearchSynonym
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(synonymsTSV))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		termText, exp, ok := strings.Cut(text, "\t")
		syn, err := normaliseSynonym(termText, strings.Split(exp, "|"))
		if !ok || err != nil || seen[syn.Term] {
			return nil, fmt.Errorf("synonyms.tsv line %d: want a new term<TAB>expansion|expansion", line)
		}
		seen[syn.Term] = true
		out = append(out, syn)
	}
	return out, sc.Err()
}

// SeedSynonyms loads the default list; the migration that creates the table
// calls it once.
func SeedSynonyms(tx *gorm.DB) error {
	syns, err := DefaultSynonyms()
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for i := range syns {
		syns[i].CreatedAt, syns[i].UpdatedAt = now, now
	}
	return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(syns, 200).Error
}

// normaliseSynonym checks and folds a rule the way queries are folded, so
// that it matches what parseQuery makes of a query.
func normaliseSynonym(termText string, expansions []string) (models.SearchSynonym, error) {
	p, err := parseQuery(termText)
	if err != nil || len(p.pieces) != 1 || utf8.RuneCountInString(p.pieces[0]) > 20 {
		return models.SearchSynonym{}, models.InvalidField("term", "同义词的词条应为1到20个字的一个词，不含空格和标点。")
	}
	var exps []string
	seen := map[string]bool{}
	for _, e := range expansions {
		ep, err := parseQuery(e)
		if err != nil || len(ep.pieces) == 0 || utf8.RuneCountInString(ep.text) > 30 {
			return models.SearchSynonym{}, models.InvalidField("expansions", "每个同义表述应为1到30个字。")
		}
		if ep.text != p.pieces[0] && !seen[ep.text] {
			seen[ep.text] = true
			exps = append(exps, ep.text)
		}
	}
	if len(exps) == 0 || len(exps) > 10 {
		return models.SearchSynonym{}, models.InvalidField("expansions", "请填写1到10个与词条不同的同义表述。")
	}
	return models.SearchSynonym{Term: p.pieces[0], Expansions: exps}, nil
}

// synonymSet is a loaded list.
type synonymSet struct {
	terms []string // longest first
	exp   map[string][]string
}

// maxRewrites bounds the extra phrasings one word of a query is searched as.
const maxRewrites = 4

// rewrite returns piece with each synonym term it contains replaced by the
// term's expansions ("社保卡丢了" → "社会保障卡丢了", …).
func (s *synonymSet) rewrite(piece string) []string {
	if s == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{piece: true}
	add := func(r string) bool {
		r = strings.Join(strings.Fields(r), " ")
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
		return len(out) == maxRewrites
	}
	// First, every term at once: "社保卡坏了" → "社会保障卡 损坏", the
	// query's whole meaning in official words. Terms are matched longest
	// first at each position of the original word, so an expansion is
	// never rewritten again. A term's expansions are alternatives, so each
	// phrasing takes one of them (first expansions first): joined into one
	// phrasing, strict matching would ask for all of them at once.
	var parts [][]string // each a choice: literal text alone, or a term's expansions
	terms, lit := 0, ""
	for rest := piece; rest != ""; {
		matched := false
		for _, t := range s.terms {
			if strings.HasPrefix(rest, t) {
				if lit != "" {
					parts, lit = append(parts, []string{lit}), ""
				}
				parts = append(parts, s.exp[t])
				rest, matched, terms = rest[len(t):], true, terms+1
				break
			}
		}
		if !matched {
			_, size := utf8.DecodeRuneInString(rest)
			lit += rest[:size]
			rest = rest[size:]
		}
	}
	if lit != "" {
		parts = append(parts, []string{lit})
	}
	if terms > 1 {
		for _, r := range product(parts, maxRewrites) {
			if add(r) {
				return out
			}
		}
	}
	for _, t := range s.terms {
		if !strings.Contains(piece, t) {
			continue
		}
		for _, e := range s.exp[t] {
			if add(strings.ReplaceAll(piece, t, " "+e+" ")) {
				return out
			}
		}
	}
	return out
}

// product joins one choice of every part, in order, for up to limit
// phrasings: the first choices first, then varying the last part fastest.
func product(parts [][]string, limit int) []string {
	idx := make([]int, len(parts))
	var out []string
	for len(out) < limit {
		words := make([]string, len(parts))
		for i, p := range parts {
			words[i] = p[idx[i]]
		}
		out = append(out, strings.Join(words, " "))
		i := len(parts) - 1
		for ; i >= 0; i-- {
			if idx[i]++; idx[i] < len(parts[i]) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	return out
}

// synonymCache keeps the list in memory. A change made through this process
// is seen at once; one made through another replica within synonymTTL.
type synonymCache struct {
	db     *gorm.DB
	mu     sync.Mutex
	set    *synonymSet
	loaded time.Time
}

const synonymTTL = 5 * time.Second

func newSynonymCache(db *gorm.DB) *synonymCache { return &synonymCache{db: db} }

func (c *synonymCache) get(ctx context.Context) *synonymSet {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.set != nil && time.Since(c.loaded) < synonymTTL {
		return c.set
	}
	var rows []models.SearchSynonym
	if err := c.db.WithContext(ctx).Find(&rows).Error; err != nil {
		return c.set // keep serving the last list
	}
	set := &synonymSet{exp: map[string][]string{}}
	for _, r := range rows {
		set.terms = append(set.terms, r.Term)
		set.exp[r.Term] = r.Expansions
	}
	sort.Slice(set.terms, func(i, j int) bool {
		a, b := utf8.RuneCountInString(set.terms[i]), utf8.RuneCountInString(set.terms[j])
		return a > b || a == b && set.terms[i] < set.terms[j]
	})
	c.set, c.loaded = set, time.Now()
	return set
}

func (c *synonymCache) invalidate() {
	c.mu.Lock()
	c.set = nil
	c.mu.Unlock()
}

// Synonyms lists the rules, by term.
func (s *Service) Synonyms(ctx context.Context) ([]*models.SearchSynonym, error) {
	var rows []*models.SearchSynonym
	return rows, s.db.WithContext(ctx).Order("term").Find(&rows).Error
}

// SetSynonym adds a rule or replaces the expansions of an existing term. It
// takes effect at once, without a restart.
func (s *Service) SetSynonym(ctx context.Context, termText string, expansions []string) (*models.SearchSynonym, error) {
	syn, err := normaliseSynonym(termText, expansions)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var existing models.SearchSynonym
		err := tx.Where("term = ?", syn.Term).Take(&existing).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			syn.CreatedAt, syn.UpdatedAt = now, now
			return tx.Create(&syn).Error
		case err != nil:
			return err
		}
		existing.Expansions, existing.UpdatedAt = syn.Expansions, now
		syn = existing
		return tx.Save(&existing).Error
	})
	if err != nil {
		return nil, fmt.Errorf("save synonym: %w", err)
	}
	s.synonyms.invalidate()
	return &syn, nil
}

// DeleteSynonym removes a rule; false when there was none.
func (s *Service) DeleteSynonym(ctx context.Context, termText string) (bool, error) {
	p, err := parseQuery(termText)
	if err != nil || len(p.pieces) != 1 {
		return false, models.InvalidField("term", "同义词的词条不正确。")
	}
	res := s.db.WithContext(ctx).Where("term = ?", p.pieces[0]).Delete(&models.SearchSynonym{})
	if res.Error != nil {
		return false, res.Error
	}
	s.synonyms.invalidate()
	return res.RowsAffected > 0, nil
}
