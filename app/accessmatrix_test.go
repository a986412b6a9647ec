package app_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"govmobile/graph"
	"govmobile/permission"

	"github.com/vektah/gqlparser/v2/ast"
)

// The access-control matrix (issue 9; 9.4.3, 等保三级 access control).
//
// Every query, mutation and subscription field that takes an object ID —
// found in the schema, not listed by hand — and every type reachable through
// node(id) must be classified here:
//
//   - accessPublic: the object is public (the catalogue, a verification); any
//     caller may name any ID. The entry says why.
//   - accessOwner: the object belongs to a citizen or an organisation. Another
//     citizen, an anonymous caller and an administrator of another region
//     (holding every permission) get NOT_FOUND, FORBIDDEN or UNAUTHENTICATED.
//   - accessGated: the object is shared nationwide (a role, a platform-wide
//     incident), so any administrator holding the field's permission may name
//     it; a citizen and an anonymous caller get FORBIDDEN or UNAUTHENTICATED.
//     The entry says why the object has no region.
//   - accessAdmin: the object belongs to a region's (or a department's)
//     administration. An administrator of another region holding the same
//     permissions, a citizen and an anonymous caller get NOT_FOUND,
//     FORBIDDEN or UNAUTHENTICATED.
//
// Each classified entry builds its object as its owner and returns the
// request that names it. The intruders send it first; then the owner sends
// it and must succeed, which proves the request was one the server would
// have honoured (a mutation's probe is therefore one whose success the test
// can afford). A new field with an ID argument, or a new Node type, fails
// TestAccessControlMatrix until it has an entry.

type accessClass string

const (
	accessPublic accessClass = "public"
	accessOwner  accessClass = "owner"
	accessAdmin  accessClass = "admin"
	accessGated  accessClass = "gated"
)

// accessProbe is one row's request.
type accessProbe struct {
	query string
	vars  map[string]any
	// owner is the ticket the object belongs to (a citizen's for
	// accessOwner, an administrator's for accessAdmin); it must succeed.
	owner string
	// intruders, when set, replace the class's default intruders (for
	// example, an administrator of another department of the same region as
	// well); each must be refused.
	intruders map[string]string
	// ownerCheck, when set, inspects the owner's successful response.
	ownerCheck func(t *testing.T, r *gqlResponse)
	// send, when set, sends the request as ticket's holder instead of a
	// POST to /graphql (a subscription over the websocket, say).
	send func(t *testing.T, ticket string) *gqlResponse
}

// accessEntry classifies one field (or one Node type).
type accessEntry struct {
	class accessClass
	// why says, for accessPublic, why the object is public, and for
	// accessGated, why it belongs to no region.
	why string
	// probe builds the object and its request; nil only for accessPublic.
	probe func(t *testing.T, w *accessWorld) accessProbe
}

// accessWorld holds the callers the matrix is run with. Entries create
// their own objects; callers are shared.
type accessWorld struct {
	b *backend
	// owner and other are citizens of region 330106 (杭州市西湖区).
	owner, other authPayload
	mu           sync.Mutex
	admins       map[string]string
}

// admin is a ticket of an administrator of region holding every
// permission (made once per region).
func (w *accessWorld) admin(t *testing.T, region string) string {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if tk, ok := w.admins[region]; ok {
		return tk
	}
	var all []string
	for _, p := range permission.All {
		all = append(all, p.Name)
	}
	tk := w.b.regionalAdmin(t, region, all...)
	w.admins[region] = tk
	return tk
}

// The regions the matrix's administrators belong to: the owner's side and
// the intruding one.
const (
	matrixRegion      = "330100" // 杭州市
	matrixOtherRegion = "110000" // 北京市
)

// refusedCodes are the answers an intruder may get.
var refusedCodes = []string{"NOT_FOUND", "FORBIDDEN", "UNAUTHENTICATED"}

// accessEntries gathers the classification from the area files.
func accessEntries() (fields, nodes map[string]accessEntry) {
	fields, nodes = map[string]accessEntry{}, map[string]accessEntry{}
	for _, part := range []func() (map[string]accessEntry, map[string]accessEntry){citizenAccessEntries, adminAccessEntries} {
		f, n := part()
		for k, v := range f {
			if _, dup := fields[k]; dup {
				panic("access entry twice: " + k)
			}
			fields[k] = v
		}
		for k, v := range n {
			if _, dup := nodes[k]; dup {
				panic("node entry twice: " + k)
			}
			nodes[k] = v
		}
	}
	return fields, nodes
}

// idTakingFields lists "Query.f", "Mutation.f" and "Subscription.f" for every
// root field with an argument that is, or holds (in an input object), an ID.
func idTakingFields() []string {
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	var holdsID func(tp *ast.Type, seen map[string]bool) bool
	holdsID = func(tp *ast.Type, seen map[string]bool) bool {
		name := tp.Name()
		if name == "ID" {
			return true
		}
		d := s.Types[name]
		if d == nil || d.Kind != ast.InputObject || seen[name] {
			return false
		}
		seen[name] = true
		return slices.ContainsFunc(d.Fields, func(f *ast.FieldDefinition) bool { return holdsID(f.Type, seen) })
	}
	var out []string
	for _, root := range []*ast.Definition{s.Query, s.Mutation, s.Subscription} {
		if root == nil {
			continue
		}
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			if slices.ContainsFunc(f.Arguments, func(a *ast.ArgumentDefinition) bool { return holdsID(a.Type, map[string]bool{}) }) {
				out = append(out, root.Name+"."+f.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// nodeTypes lists the types that implement Node.
func nodeTypes() []string {
	s := graph.NewExecutableSchema(graph.Config{}).Schema()
	var out []string
	for _, d := range s.GetPossibleTypes(s.Types["Node"]) {
		out = append(out, d.Name)
	}
	sort.Strings(out)
	return out
}

// TestAccessControlMatrixIsComplete fails while a field or Node type is not
// classified, or an entry names one the schema no longer has.
func TestAccessControlMatrixIsComplete(t *testing.T) {
	fields, nodes := accessEntries()
	want := idTakingFields()
	for _, f := range want {
		if _, ok := fields[f]; !ok {
			t.Errorf("%s takes an object ID but is not classified in the access-control matrix (accessPublic, accessOwner or accessAdmin)", f)
		}
	}
	for f := range fields {
		if !slices.Contains(want, f) && f != "Query.node" {
			t.Errorf("the matrix classifies %s, which takes no ID (or no longer exists)", f)
		}
	}
	types := nodeTypes()
	for _, n := range types {
		if _, ok := nodes[n]; !ok {
			t.Errorf("node type %s is not classified in the access-control matrix", n)
		}
	}
	for n := range nodes {
		if !slices.Contains(types, n) {
			t.Errorf("the matrix classifies node type %s, which does not implement Node", n)
		}
	}
	for name, e := range merge(fields, nodes) {
		switch {
		case (e.class == accessPublic || e.class == accessGated) && e.why == "":
			t.Errorf("%s is %s without a reason", name, e.class)
		case e.class != accessPublic && e.probe == nil:
			t.Errorf("%s is %s without a probe", name, e.class)
		}
	}
}

func merge(a, b map[string]accessEntry) map[string]accessEntry {
	out := map[string]accessEntry{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out["node:"+k] = v
	}
	return out
}

// TestAccessControlMatrix runs every classified row against every backend.
func TestAccessControlMatrix(t *testing.T) {
	fields, nodes := accessEntries()
	// A server of its own: the rows make objects of every kind (knowledge
	// entries, appeals, payment orders…) that the shared servers' tests
	// count.
	eachIsolated(t, "matrix", nil, func(t *testing.T, b *backend) {
		w := &accessWorld{b: b, owner: b.register(t, person(t)), other: b.register(t, person(t)), admins: map[string]string{}}
		var cells, rows, public int
		run := func(t *testing.T, name string, e accessEntry) {
			if e.class == accessPublic {
				public++
				return
			}
			p := e.probe(t, w)
			intruders := p.intruders
			if intruders == nil {
				intruders = map[string]string{"anonymous": ""}
				switch e.class {
				case accessOwner:
					intruders["another citizen"] = w.other.Ticket
					intruders["an administrator of another region"] = w.admin(t, matrixOtherRegion)
				case accessAdmin:
					intruders["a citizen"] = w.other.Ticket
					intruders["an administrator of another region"] = w.admin(t, matrixOtherRegion)
				case accessGated:
					intruders["a citizen"] = w.other.Ticket
				}
			}
			who := make([]string, 0, len(intruders))
			for k := range intruders {
				who = append(who, k)
			}
			sort.Strings(who)
			for _, k := range who {
				r := p.do(t, b, intruders[k])
				cells++
				if !refused(r, name) {
					t.Errorf("%s: %s was not refused: %s", name, k, clip(r.Raw))
				}
			}
			r := p.do(t, b, p.owner)
			cells++
			if len(r.Errors) > 0 || nullRoot(r) {
				t.Errorf("%s: the owner's own request failed, so the probe proves nothing: %s", name, clip(r.Raw))
			} else if p.ownerCheck != nil {
				p.ownerCheck(t, r)
			}
			rows++
		}
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(name, func(t *testing.T) { run(t, name, fields[name]) })
		}
		types := make([]string, 0, len(nodes))
		for k := range nodes {
			types = append(types, k)
		}
		sort.Strings(types)
		for _, typ := range types {
			t.Run("node:"+typ, func(t *testing.T) {
				run(t, "node:"+typ, nodes[typ])
			})
		}
		t.Logf("access-control matrix on %s: %d rows (%d public), %d cells checked", b.name, rows, public, cells)
	})
}

func (p accessProbe) do(t *testing.T, b *backend, ticket string) *gqlResponse {
	if p.send != nil {
		return p.send(t, ticket)
	}
	return b.gql(t, ticket, p.query, p.vars)
}

// refused reports whether an intruder's answer is a refusal: an error
// with one of refusedCodes and no data for the field — or, for node(id), the
// null the Relay convention gives for an object the caller cannot see.
func refused(r *gqlResponse, name string) bool {
	if strings.HasPrefix(name, "node:") && len(r.Errors) == 0 {
		return nullRoot(r)
	}
	if len(r.Errors) == 0 || !slices.Contains(refusedCodes, r.code()) {
		return false
	}
	return nullRoot(r)
}

// nullRoot reports whether every root field of the answer is null (or the
// answer has no data at all).
func nullRoot(r *gqlResponse) bool {
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return true
	}
	var root map[string]json.RawMessage
	if json.Unmarshal(r.Data, &root) != nil {
		return false
	}
	for _, v := range root {
		if string(v) != "null" {
			return false
		}
	}
	return true
}

func clip(raw []byte) string {
	if len(raw) > 400 {
		return fmt.Sprintf("%s…", raw[:400])
	}
	return string(raw)
}
