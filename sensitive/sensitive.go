// Package sensitive finds the words of a sensitive-word list in text (8.2.2
// a; 9.4): a source interface's parameters and responses are checked, and a
// hit flags the interface for review. The list is compiled once into an
// Aho–Corasick automaton (github.com/petar-dambovaliev/aho-corasick, DFA),
// so a check reads the text once whatever the list's length, instead of
// one strings.Contains per word.
//
// Text and words are folded the same way first: full-width letters and
// digits to their ASCII forms (ｖｐｎ is vpn) and ASCII letters to lower
// case, so a word cannot be dodged by the width or case it is typed in.
package sensitive

import (
	"slices"
	"strings"
	"unicode/utf8"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
	"golang.org/x/text/width"
)

// MaxWordRunes bounds a word of the list.
const MaxWordRunes = 50

// Matcher finds a fixed list's words.
type Matcher struct {
	ac    ahocorasick.AhoCorasick
	words []string
}

// fold is the form text and words are compared in.
func fold(s string) string { return strings.ToLower(width.Fold.String(s)) }

// New compiles a list. Words are folded, trimmed and deduplicated; empty
// ones, and ones over MaxWordRunes characters, are left out.
func New(words []string) *Matcher {
	var list []string
	seen := map[string]bool{}
	for _, w := range words {
		w = fold(strings.TrimSpace(w))
		if w == "" || utf8.RuneCountInString(w) > MaxWordRunes || seen[w] {
			continue
		}
		seen[w] = true
		list = append(list, w)
	}
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{MatchKind: ahocorasick.LeftMostLongestMatch, DFA: true})
	return &Matcher{ac: b.Build(list), words: list}
}

// Len is the number of words in the list.
func (m *Matcher) Len() int { return len(m.words) }

// Find returns the distinct words of the list found in text, in the order
// first found, at most max (0: all).
func (m *Matcher) Find(text string, max int) []string {
	if len(m.words) == 0 || text == "" {
		return nil
	}
	var out []string
	it := m.ac.Iter(fold(text))
	for match := it.Next(); match != nil; match = it.Next() {
		w := m.words[match.Pattern()]
		if !slices.Contains(out, w) {
			out = append(out, w)
			if max > 0 && len(out) == max {
				break
			}
		}
	}
	return out
}
