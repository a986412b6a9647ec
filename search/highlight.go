package search

import (
	"html"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// snippetRunes is the length of a snippet, in characters.
const snippetRunes = 80

// Snippet picks, from texts in order of preference, the passage of about
// 80 characters that contains the most highlighted characters, and returns
// it as HTML (escaped text, matches in <em>) and as plain text for screen
// readers. With no match anywhere it is the start of the first non-empty text.
func Snippet(terms []string, texts ...string) (htmlSnippet, plain string) {
	bestText, bestStart, bestScore := "", 0, -1
	for _, t := range texts {
		if t == "" {
			continue
		}
		runes := []rune(t)
		marks := markRunes(runes, terms)
		start, score := bestWindow(marks, snippetRunes)
		if score > bestScore {
			bestText, bestStart, bestScore = t, start, score
		}
	}
	if bestScore < 0 {
		return "", ""
	}
	runes := []rune(bestText)
	end := min(len(runes), bestStart+snippetRunes)
	window := runes[bestStart:end]
	marks := markRunes(window, terms)
	var b strings.Builder
	if bestStart > 0 {
		b.WriteString("…")
	}
	in := false
	for i, r := range window {
		if marks[i] && !in {
			b.WriteString("<em>")
			in = true
		} else if !marks[i] && in {
			b.WriteString("</em>")
			in = false
		}
		b.WriteString(html.EscapeString(string(r)))
	}
	if in {
		b.WriteString("</em>")
	}
	suffix := ""
	if end < len(runes) {
		suffix = "…"
	}
	b.WriteString(suffix)
	plain = string(window) + suffix
	if bestStart > 0 {
		plain = "…" + plain
	}
	return b.String(), plain
}

// markRunes flags the characters covered by any term, matched case-blind on
// the lowercased text, longest terms first.
func markRunes(runes []rune, terms []string) []bool {
	marks := make([]bool, len(runes))
	lower := []rune(strings.ToLower(string(runes)))
	if len(lower) != len(runes) {
		lower = runes
	}
	sorted := append([]string(nil), terms...)
	sort.Slice(sorted, func(i, j int) bool { return utf8.RuneCountInString(sorted[i]) > utf8.RuneCountInString(sorted[j]) })
	for _, t := range sorted {
		tr := []rune(strings.ToLower(t))
		if len(tr) == 0 {
			continue
		}
		for i := 0; i+len(tr) <= len(lower); i++ {
			if slices.Equal(lower[i:i+len(tr)], tr) {
				for j := i; j < i+len(tr); j++ {
					marks[j] = true
				}
			}
		}
	}
	return marks
}

// bestWindow finds the start of the size-long window with most marks; a tie
// keeps the earliest, and the window starts a little before its first mark.
func bestWindow(marks []bool, size int) (start, score int) {
	if len(marks) <= size {
		n := 0
		for _, m := range marks {
			if m {
				n++
			}
		}
		return 0, n
	}
	n := 0
	for i := 0; i < size; i++ {
		if marks[i] {
			n++
		}
	}
	best, bestAt := n, 0
	for i := size; i < len(marks); i++ {
		if marks[i] {
			n++
		}
		if marks[i-size] {
			n--
		}
		if n > best {
			best, bestAt = n, i-size+1
		}
	}
	if bestAt > 0 {
		for i := bestAt; i < len(marks); i++ {
			if marks[i] {
				bestAt = max(0, min(i-10, len(marks)-size))
				break
			}
		}
	}
	return bestAt, best
}
