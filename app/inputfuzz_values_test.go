package app_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"govmobile/graph"
	"govmobile/lightapp"
	"govmobile/permission"
	"govmobile/validate"

	"github.com/vektah/gqlparser/v2/ast"
)

// The value generator of the mutation input fuzzer (inputfuzz_test.go): for
// a GraphQL input type it makes a valid-looking value, or with probability
// hostile a boundary or hostile one — per leaf, so that most requests get
// past the framework's type checks into the resolvers and the domain.

// fuzzGen makes the variables of one mutation's requests.
type fuzzGen struct {
	s *ast.Schema
	r *rand.Rand
	// hostile is the chance that a leaf (or an object, or a list) gets a
	// hostile value instead of a valid-looking one.
	hostile float64
	// mutation is the field the values are for (it hints at ID kinds).
	mutation string
	// ids are objects earlier requests made: valid-looking IDs are often
	// theirs.
	ids *fuzzIDs
}

var (
	fuzzSchemaOnce sync.Once
	fuzzSchema     *ast.Schema
)

func fuzzSchemaOf() *ast.Schema {
	fuzzSchemaOnce.Do(func() { fuzzSchema = graph.NewExecutableSchema(graph.Config{}).Schema() })
	return fuzzSchema
}

// omitted marks a field or variable left out of the request.
type omitted struct{}

func (g *fuzzGen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// value makes a value of type tp for the field or argument name, or
// omitted{}.
func (g *fuzzGen) value(tp *ast.Type, name string, depth int) any {
	if g.chance(g.hostile * 0.15) {
		// Structural hostility, whatever the type: null, a missing value,
		// a value of another JSON type.
		switch g.r.IntN(3) {
		case 0:
			return nil
		case 1:
			return omitted{}
		default:
			return pick(g.r, []any{12345, true, "字符串", []any{}, map[string]any{}, 1.5, -0.0})
		}
	}
	if !tp.NonNull && g.chance(0.2) {
		if g.chance(0.5) {
			return nil
		}
		return omitted{}
	}
	if tp.Elem != nil {
		return g.list(tp, name, depth)
	}
	d := g.s.Types[tp.NamedType]
	switch d.Kind {
	case ast.InputObject:
		return g.object(d, depth)
	case ast.Enum:
		return g.enum(d)
	}
	switch tp.NamedType {
	case "String":
		return g.str(name)
	case "ID":
		return g.id(name)
	case "Int":
		return g.intValue(name)
	case "Float":
		return g.floatValue()
	case "Boolean":
		if g.chance(g.hostile) {
			return pick(g.r, []any{"true", 1, 0, "false", "是"})
		}
		return g.r.IntN(2) == 0
	case "Time":
		return g.timeValue()
	}
	panic("inputfuzz: no generator for scalar " + tp.NamedType + "; add one")
}

func (g *fuzzGen) list(tp *ast.Type, name string, depth int) any {
	if g.chance(g.hostile * 0.3) {
		switch g.r.IntN(4) {
		case 0:
			// A huge list: one element repeated (bounded by the request body).
			el := g.value(tp.Elem, name, depth+1)
			if _, ok := el.(omitted); ok {
				el = nil
			}
			n := 10000
			if b, _ := json.Marshal(el); len(b) > 80 {
				n = 800_000 / len(b)
			}
			out := make([]any, n)
			for i := range out {
				out[i] = el
			}
			return out
		case 1:
			return []any{nil}
		case 2:
			// A single value where a list is expected (GraphQL coerces it).
			return g.value(tp.Elem, name, depth+1)
		default:
			return []any{[]any{"嵌套"}}
		}
	}
	n := g.r.IntN(4)
	if tp.NonNull && n == 0 && g.chance(0.7) {
		n = 1
	}
	out := make([]any, 0, n)
	for range n {
		v := g.value(tp.Elem, name, depth+1)
		if _, ok := v.(omitted); ok {
			v = nil
		}
		out = append(out, v)
	}
	return out
}

func (g *fuzzGen) object(d *ast.Definition, depth int) any {
	if depth > 4 {
		return map[string]any{}
	}
	out := map[string]any{}
	for _, f := range d.Fields {
		v := g.value(f.Type, f.Name, depth+1)
		if _, ok := v.(omitted); ok {
			continue
		}
		out[f.Name] = v
	}
	if g.chance(g.hostile * 0.1) {
		out[pick(g.r, []string{"unknownField", "__proto__", "constructor", "id"})] = "多余字段"
	}
	return out
}

func (g *fuzzGen) enum(d *ast.Definition) any {
	if g.chance(g.hostile) {
		return pick(g.r, []any{"NOT_A_VALUE", strings.ToLower(d.EnumValues[0].Name), "", 1, d.EnumValues[0].Name + " "})
	}
	return pick(g.r, d.EnumValues).Name
}

// hostileStrings are the strings every String field may get.
var hostileStrings = []any{
	"", " ", "\t\r\n", "\x00", "a\x00b", "\u202e\u0635\u0648\u0631\u0629\u202c", "\u200b\u200d\ufeff",
	"👨‍👩‍👧‍👦🀄𠀀𪚥", "１３９００１３８０００", "Ａｄｍｉｎ", "e\u0301\u0301\u0301\u0301", "\x1b[31m红\x1b[0m",
	"' OR '1'='1", "1; DROP TABLE cases; --", "\" OR \"\"=\"", "%' AND 1=1 --", "\\'; SELECT 1; --",
	"<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "{{.}}", "{{ printf \"%v\" . }}", "${7*7}", "#{7*7}",
	"%s%s%s%n%x", "../../../../etc/passwd", "C:\\Windows\\win.ini", "file:///etc/passwd", "javascript:alert(1)",
	"NaN", "Infinity", "-Infinity", "-0", "1e309", "0x7fffffff", "null", "undefined", "true", "[]", "{}",
	"9223372036854775808", "-1", "0000-00-00", "2026-02-30", "9999-12-31T23:59:59Z", "http://", "http://[::1", "ftp://x",
	// Lone surrogates and invalid UTF-8, as the client sent them.
	json.RawMessage(`"\ud800"`), json.RawMessage(`"a\udfffb"`), json.RawMessage(`"\ud83d\ude00\ud83d"`),
}

func (g *fuzzGen) str(name string) any {
	if g.chance(g.hostile) {
		switch g.r.IntN(6) {
		case 0:
			return strings.Repeat(pick(g.r, []string{"a", "啊", "9", "😀"}), 100_000/4)
		case 1:
			return strings.Repeat("x", 100_000)
		case 2:
			return g.randomBytes(g.r.IntN(64) + 1)
		default:
			return pick(g.r, hostileStrings)
		}
	}
	return g.plausibleString(strings.ToLower(name))
}

// randomBytes is a string of random bytes (invalid UTF-8 reaches the server
// as U+FFFD, control characters as themselves).
func (g *fuzzGen) randomBytes(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return string(b)
}

var fuzzRegions = []string{"330106", "330100", "330000", "110000", "110101", "440300", "999999", "000000", "33010"}

func (g *fuzzGen) plausibleString(n string) string {
	has := func(parts ...string) bool {
		return slices.ContainsFunc(parts, func(p string) bool { return strings.Contains(n, p) })
	}
	switch {
	case has("password"):
		return pick(g.r, []string{"Passw0rd!2026", "Admin-Test-123x", "short"})
	case has("username"):
		return fmt.Sprintf("fuzz%d", g.r.IntN(1_000_000))
	case has("idnumber", "holderidentity"):
		if g.chance(0.3) {
			return g.creditCode()
		}
		return g.idNumber()
	case has("creditcode"):
		return g.creditCode()
	case has("phone"):
		return fmt.Sprintf("139%08d", g.r.IntN(100_000_000))
	case has("regioncode"):
		return pick(g.r, fuzzRegions)
	case has("url"):
		return pick(g.r, []string{"https://www.zjzwfw.gov.cn/app", "http://127.0.0.1:1/app", "https://例子.中国/"})
	case has("address"):
		if has("interface") || g.mutation == "registerInterface" || g.mutation == "updateInterface" {
			return "http://127.0.0.1:1/api"
		}
		return pick(g.r, []string{"http://127.0.0.1:1/api", "浙江省杭州市西湖区文三路100号"})
	case n == "day":
		return pick(g.r, []string{"2026-01-15", "2025-12-31", "2026-13-01", "1900-01-01"})
	case has("csv"):
		return "order_no,amount_fen,paid_at\nP0001,100,2026-01-15T08:00:00+08:00\n"
	case has("png"):
		return tinyPNG
	case has("sm3"):
		return g.hexString(64)
	case has("publickey"):
		return "04" + g.hexString(128)
	case has("idempotencykey"):
		return fmt.Sprintf("fuzz-%016x", g.r.Uint64())
	case has("severity"):
		return pick(g.r, []string{"P1", "P2", "P3", "P4"})
	case n == "method":
		return pick(g.r, []string{"GET", "POST"})
	case n == "format":
		return pick(g.r, []string{"JSON", "XML"})
	case n == "type":
		return pick(g.r, []string{"string", "number", "boolean"})
	case has("version"):
		return "1.0.0"
	case has("packagename"):
		return "cn.gov.zj.fuzz"
	case n == "permissions":
		return pick(g.r, permission.All).Name
	case n == "fields":
		return pick(g.r, lightapp.Fields).Key
	case n == "values":
		return pick(g.r, []string{"首次申领", "13900001111", "窗口领取"})
	case n == "key":
		return pick(g.r, []string{"reason", "contactPhone", "delivery", "name"})
	case n == "code", has("mattercode"):
		return fmt.Sprintf("FUZZ%06d", g.r.IntN(1_000_000))
	case has("owner", "assignee"):
		return pick(g.r, []string{"admin", "nobody"})
	case n == "hall":
		return pick(g.r, []string{"浙江政务服务", "杭州市民中心"})
	case n == "kind":
		return pick(g.r, []string{"search", "view", "interface_down", "其他"})
	}
	return pick(g.r, []string{"测试内容", "办理营业执照", "社保", "您好，请问如何办理？", "不动产登记", "备注"})
}

func (g *fuzzGen) hexString(n int) string {
	b := make([]byte, (n+1)/2)
	for i := range b {
		b[i] = byte(g.r.IntN(256))
	}
	return hex.EncodeToString(b)[:n]
}

func (g *fuzzGen) idNumber() string {
	first17 := fmt.Sprintf("330106%04d%02d%02d%03d", 1950+g.r.IntN(60), 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(1000))
	c, _ := validate.IDNumberCheckChar(first17)
	return first17 + string(c)
}

func (g *fuzzGen) creditCode() string {
	first17 := fmt.Sprintf("91330106MA%07d", g.r.IntN(10_000_000))
	c, _ := validate.CreditCodeCheckChar(first17)
	return first17 + string(c)
}

var tinyPNG = func() string {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 2)))
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}()

func (g *fuzzGen) intValue(name string) any {
	if g.chance(g.hostile) {
		return pick(g.r, []any{0, -1, math.MaxInt32, math.MinInt32, int64(math.MaxInt32) + 1, int64(math.MinInt32) - 1,
			int64(math.MaxInt64), int64(math.MinInt64), json.RawMessage(`18446744073709551616`), json.RawMessage(`1e20`),
			1.5, json.RawMessage(`1e308`), json.RawMessage(`-0`), "12", "NaN", json.RawMessage(`1.0`)})
	}
	n := strings.ToLower(name)
	switch {
	case strings.Contains(n, "amountfen"):
		return 100 * (1 + g.r.IntN(100))
	case n == "concurrency":
		return 1 + g.r.IntN(2)
	case n == "requests":
		return 1 + g.r.IntN(4)
	case n == "slowms":
		return 100 * (1 + g.r.IntN(30))
	case n == "grade":
		return 1 + g.r.IntN(5)
	}
	return g.r.IntN(10)
}

func (g *fuzzGen) floatValue() any {
	if g.chance(g.hostile) {
		return pick(g.r, []any{0.0, json.RawMessage(`-0.0`), math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64,
			json.RawMessage(`1e400`), "NaN", "Infinity", 1e300, -1e300, int64(math.MaxInt64)})
	}
	return g.r.Float64() * 100
}

func (g *fuzzGen) timeValue() any {
	if g.chance(g.hostile) {
		return pick(g.r, []any{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1000-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
			"1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2038-01-19T03:14:08Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
			"2026-01-01", "2026-01-01T25:00:00Z", "2026-01-01T08:00:00+25:00", "2026-01-01T08:00:00", "+275760-09-13T00:00:00Z",
			"", "now", "1700000000", 1700000000, "2026-01-01T08:00:00.999999999999Z", "2026-01-01T08:00:00+08:00\x00"})
	}
	return fmt.Sprintf("2026-%02d-%02dT%02d:00:00+08:00", 1+g.r.IntN(12), 1+g.r.IntN(28), g.r.IntN(24))
}

// idKinds are the kinds of global IDs: every object type of the schema.
func (g *fuzzGen) idKinds() []string {
	var out []string
	for name, d := range g.s.Types {
		if d.Kind == ast.Object && !strings.HasPrefix(name, "__") && !strings.HasSuffix(name, "Payload") {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// idAliases name the kind of IDs whose field name does not.
var idAliases = map[string]string{"admin": "AdminAccount", "file": "AppFile", "iconfile": "AppFile", "feedback": "AppFeedback",
	"subject": "Matter", "target": "Matter"}

// idKind guesses the kind of an ID field from its name (caseId → Case,
// slotId → AppointmentSlot), else from the mutation's name.
func (g *fuzzGen) idKind(name string) string {
	kinds := g.idKinds()
	cand := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, "Ids"), "Id"))
	if k, ok := idAliases[cand]; ok {
		return k
	}
	if cand != "id" && cand != "" {
		for _, match := range []func(k string) bool{
			func(k string) bool { return strings.ToLower(k) == cand },
			func(k string) bool { return strings.HasSuffix(strings.ToLower(k), cand) },
			func(k string) bool { return strings.HasPrefix(strings.ToLower(k), cand) },
		} {
			if i := slices.IndexFunc(kinds, match); i >= 0 {
				return kinds[i]
			}
		}
	}
	best := ""
	for _, k := range kinds {
		if strings.Contains(strings.ToLower(g.mutation), strings.ToLower(k)) && len(k) > len(best) {
			best = k
		}
	}
	if best != "" {
		return best
	}
	return pick(g.r, kinds)
}

func (g *fuzzGen) id(name string) any {
	kind := g.idKind(name)
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	if g.chance(g.hostile) {
		other := pick(g.r, g.idKinds())
		switch g.r.IntN(4) {
		case 0:
			return pick(g.r, []any{"", " ", "!!!", "====", "Q2FzZTox", "Q2FzZTox==", "null", "0", "-1", 42, strings.Repeat("A", 100_000),
				json.RawMessage(`"\ud800"`), "\u202eCase:1"})
		case 1:
			return enc(g.randomBytes(1 + g.r.IntN(40)))
		case 2:
			return enc(other + ":" + fmt.Sprint(1+g.r.IntN(3)))
		default:
			return enc(kind + ":" + pick(g.r, []string{"99999999", "-1", "0", "abc", "", "1.5", "1e3", " 1", "1\x00",
				"18446744073709551615", "9223372036854775807", "9223372036854775808", "00000000001", "１", "1:1", "😀"}))
		}
	}
	if g.ids != nil && g.chance(0.7) {
		if id := g.ids.some(g.r, kind); id != "" {
			return id
		}
	}
	key := fmt.Sprint(1 + g.r.IntN(3))
	switch kind {
	case "Region":
		key = pick(g.r, fuzzRegions)
	case "AdminAccount":
		// Never the super administrator the fuzzer itself logs in as.
		key = fmt.Sprint(2 + g.r.IntN(3))
	}
	return enc(kind + ":" + key)
}
