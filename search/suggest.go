package search

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"govmobile/database/readpref"
	"govmobile/models"
)

// suggestion is one completion candidate.
type suggestion struct {
	text     string
	pinyin   string
	initials string
	weight   int
}

// suggester completes prefixes from the names and aliases of matters and
// apps, most popular first. The list is built from the database (a few
// thousand distinct names even for a national catalogue) and rebuilt at
// most every suggestTTL after the index changes.
type suggester struct {
	s       *Service
	mu      sync.Mutex
	list    []suggestion
	builtAt time.Time
	dirty   bool
}

const suggestTTL = 30 * time.Second

func newSuggester(s *Service) *suggester { return &suggester{s: s, dirty: true} }

func (g *suggester) invalidate() {
	g.mu.Lock()
	g.dirty = true
	g.mu.Unlock()
}

func (g *suggester) get(ctx context.Context) ([]suggestion, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.list != nil && (!g.dirty || time.Since(g.builtAt) < suggestTTL) {
		return g.list, nil
	}
	list, err := g.build(ctx)
	if err != nil {
		if g.list != nil {
			return g.list, nil
		}
		return nil, err
	}
	g.list, g.builtAt, g.dirty = list, time.Now(), false
	return list, nil
}

func (g *suggester) build(ctx context.Context) ([]suggestion, error) {
	// On the primary: the list is rebuilt when the local index has applied
	// a change, which a read replica may not have replayed yet, and it is
	// kept until the next change (searchSuggestions is a replica-safe
	// field, so the request's context would allow a replica).
	db := g.s.db.WithContext(readpref.Primary(ctx))
	weights := map[string]int{}
	addText := func(text string, w int) {
		if text != "" && utf8.RuneCountInString(text) <= 30 && w >= weights[text] {
			weights[text] = max(w, 1)
		}
	}
	var names []struct {
		Name string
		Pop  int
	}
	if err := db.Model(&models.Matter{}).Select("name, MAX(popularity) AS pop").Group("name").Scan(&names).Error; err != nil {
		return nil, err
	}
	for _, n := range names {
		addText(n.Name, n.Pop)
	}
	var aliasSets []struct {
		Aliases string
		Pop     int
	}
	if err := db.Model(&models.Matter{}).Select("aliases, MAX(popularity) AS pop").Group("aliases").Scan(&aliasSets).Error; err != nil {
		return nil, err
	}
	for _, a := range aliasSets {
		var list []string
		if json.Unmarshal([]byte(a.Aliases), &list) == nil {
			for _, al := range list {
				addText(al, a.Pop*9/10)
			}
		}
	}
	var apps []models.App
	if err := db.Where("online = ?", true).Find(&apps).Error; err != nil {
		return nil, err
	}
	for _, a := range apps {
		addText(a.Name, a.Popularity)
		for _, al := range a.Aliases {
			addText(al, a.Popularity*9/10)
		}
	}
	out := make([]suggestion, 0, len(weights))
	for text, w := range weights {
		full, initials := g.s.pinyin.forms(text)
		out = append(out, suggestion{text: strings.ToLower(text), pinyin: full, initials: initials, weight: w})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].weight != out[j].weight {
			return out[i].weight > out[j].weight
		}
		return out[i].text < out[j].text
	})
	return out, nil
}

// MaxSuggestPrefix bounds a suggestion prefix, in characters.
const MaxSuggestPrefix = 20

// Suggestions completes a Chinese or pinyin prefix ("社保", "shebao", "sb")
// with up to n names and aliases, most popular first.
func (s *Service) Suggestions(ctx context.Context, prefix string, n int) ([]string, error) {
	if utf8.RuneCountInString(prefix) > MaxSuggestPrefix {
		return nil, models.InvalidField("prefix", "输入的内容太长，联想最多支持20个字。")
	}
	p, err := parseQuery(prefix)
	if err != nil {
		return nil, err
	}
	key := strings.ReplaceAll(p.text, " ", "")
	if key == "" {
		return []string{}, nil
	}
	list, err := s.suggester.get(ctx)
	if err != nil {
		return nil, err
	}
	pinyinInput := isPinyinInput(key)
	out := []string{}
	seen := map[string]bool{}
	for _, sg := range list {
		match := strings.HasPrefix(sg.text, key)
		if !match && pinyinInput {
			match = strings.HasPrefix(sg.pinyin, key) || strings.HasPrefix(sg.initials, key)
		}
		if match && !seen[sg.text] {
			seen[sg.text] = true
			out = append(out, sg.text)
			if len(out) == n {
				break
			}
		}
	}
	return out, nil
}
