package graph

import (
	"strings"
	"testing"
	"unicode"

	"github.com/vektah/gqlparser/v2/ast"
)

// TestEverythingIsDescribedInChinese: CONVENTIONS — every type, field,
// argument and enum value has a Chinese description, so GraphiQL's docs are
// the API reference.
func TestEverythingIsDescribedInChinese(t *testing.T) {
	schema := NewExecutableSchema(Config{}).Schema()
	han := func(s string) bool {
		return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
	}
	for name, def := range schema.Types {
		if def.BuiltIn || strings.HasPrefix(name, "__") {
			continue
		}
		if !han(def.Description) {
			t.Errorf("type %s has no Chinese description", name)
		}
		for _, f := range def.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if !han(f.Description) {
				t.Errorf("%s.%s has no Chinese description", name, f.Name)
			}
			for _, a := range f.Arguments {
				if !han(a.Description) {
					t.Errorf("%s.%s(%s:) has no Chinese description", name, f.Name, a.Name)
				}
			}
		}
		if def.Kind == ast.Enum {
			for _, v := range def.EnumValues {
				if !han(v.Description) {
					t.Errorf("%s.%s has no Chinese description", name, v.Name)
				}
			}
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && d.Position.Src.BuiltIn {
			continue
		}
		if name == "mask" && !han(d.Description) {
			t.Errorf("@%s has no Chinese description", name)
		}
	}
}
