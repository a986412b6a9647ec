// Package docs holds the project's knowledge; its one test keeps
// conformance.md honest: every clause of the standard is either mapped to
// tests that exist, or named as not yet covered.
package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// clauses are the leaf clauses of the standard from 5 to 10.3 (its
// numbered headings with no numbered children), as the draft national
// standard (../shared/standard/mobile-terminal-requirements.zh.txt) has
// them. The test checks each is in conformance.md's table or its list of
// clauses not yet covered.
var clauses = []string{
	"5", "6.1", "6.2", "6.3", "7",
	"8.1.1", "8.1.2", "8.2.1", "8.2.2", "8.2.3", "8.2.4", "8.2.5",
	"8.3.1", "8.3.2", "8.3.3", "8.4", "8.5", "8.6", "8.7",
	"9.1", "9.2.1", "9.2.2", "9.2.3", "9.2.4", "9.2.5", "9.3",
	"9.4.1", "9.4.2", "9.4.3", "9.4.4", "9.4.5", "9.5",
	"10.1", "10.2", "10.3",
}

var (
	clauseRe = regexp.MustCompile(`\b(\d+(?:\.\d+)*)(?:\s*[–-]\s*(\d+(?:\.\d+)*))?`)
	testRe   = regexp.MustCompile("`(?:([a-z][a-z0-9_]*)\\.)?((?:Test|Benchmark|Fuzz)[A-Za-z0-9_]*|\\*)(?:/[^`]*)?`")
)

// TestConformanceTable: every leaf clause is covered by a row or named as
// not yet covered, and every test a row names exists.
func TestConformanceTable(t *testing.T) {
	raw, err := os.ReadFile("conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	covered := map[string]bool{}
	var cited []string
	inTable := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "| clause") {
			inTable = true
			continue
		}
		if inTable && !strings.HasPrefix(line, "|") {
			break // the table ends at its first other line
		}
		if !inTable || strings.HasPrefix(line, "|---") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		// Parentheses hold remarks ("(issue 7)", "(预约)"), not clauses.
		clauseCell := regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(cells[1], "")
		tests := cells[len(cells)-2]
		if !testRe.MatchString(tests) {
			t.Errorf("the row for %q cites no test", strings.TrimSpace(cells[1]))
			continue // a row without tests covers nothing
		}
		for _, m := range clauseRe.FindAllStringSubmatch(clauseCell, -1) {
			for _, c := range expand(m[1], m[2]) {
				covered[c] = true
			}
		}
		cited = append(cited, tests)
	}
	notYet := ""
	if i := strings.Index(text, "## Not yet covered"); i >= 0 {
		notYet = text[i:]
	}
	for _, c := range clauses {
		if !covered[c] && !coveredBelow(covered, c) && !strings.Contains(notYet, "- "+c+" ") {
			t.Errorf("clause %s has no row in conformance.md and is not listed under \"Not yet covered\"", c)
		}
	}

	tests := testFuncs(t, "..")
	n := 0
	for _, cell := range cited {
		for _, m := range testRe.FindAllStringSubmatch(cell, -1) {
			n++
			pkg, name := m[1], m[2]
			switch {
			case name == "*":
				if len(tests[pkg]) == 0 {
					t.Errorf("conformance.md cites %s.* but package %s has no tests", pkg, pkg)
				}
			case pkg != "":
				if !tests[pkg][name] {
					t.Errorf("conformance.md cites %s.%s, which does not exist", pkg, name)
				}
			default:
				found := false
				for _, fs := range tests {
					found = found || fs[name]
				}
				if !found {
					t.Errorf("conformance.md cites %s, which does not exist", name)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d tests cited: the table's format changed?", n)
	}
}

// coveredBelow reports whether a row covers a child of c (8.3.2 b covers
// 8.3.2 as a leaf of the list).
func coveredBelow(covered map[string]bool, c string) bool {
	for k := range covered {
		if strings.HasPrefix(k, c+".") {
			return true
		}
	}
	return false
}

// expand turns "9.2.2"–"9.2.5" into each clause between; a single clause
// is itself.
func expand(from, to string) []string {
	if to == "" {
		return []string{from}
	}
	fp, tp := strings.Split(from, "."), strings.Split(to, ".")
	if len(fp) != len(tp) || strings.Join(fp[:len(fp)-1], ".") != strings.Join(tp[:len(tp)-1], ".") {
		return []string{from, to}
	}
	a, _ := strconv.Atoi(fp[len(fp)-1])
	b, _ := strconv.Atoi(tp[len(tp)-1])
	prefix := strings.Join(fp[:len(fp)-1], ".")
	var out []string
	for i := a; i <= b; i++ {
		if prefix == "" {
			out = append(out, strconv.Itoa(i))
		} else {
			out = append(out, prefix+"."+strconv.Itoa(i))
		}
	}
	return out
}

// testFuncs maps each package name to its test, benchmark and fuzz
// functions, reading every _test.go file of the repository.
func testFuncs(t *testing.T, root string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		pkg := strings.TrimSuffix(f.Name.Name, "_test")
		if out[pkg] == nil {
			out[pkg] = map[string]bool{}
		}
		for _, decl := range f.Decls {
			if fd, ok := decl.(*ast.FuncDecl); ok && fd.Recv == nil {
				out[pkg][fd.Name.Name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
