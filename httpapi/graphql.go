// Package httpapi assembles govmobile's HTTP surface: the GraphQL server built
// with explicit transports and extensions, the error presenter, query limits,
// the public response cache and the middleware (request IDs, logs, metrics,
// body limits, timeouts). It decides how requests travel, never what they mean.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"govmobile/audit"
	"govmobile/database"
	"govmobile/graph"
	"govmobile/graph/model"
	"govmobile/loaders"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/resolvers"
	"govmobile/search"
	"govmobile/viewer"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits on what one GraphQL request may ask for (SPEC §4, abuse).
const (
	MaxDepth      = 12
	MaxComplexity = 5000
	// parserTokenLimit bounds the work of parsing one document.
	parserTokenLimit = 15000
)

// NewGraphQL builds the GraphQL server. Introspection is on only in dev
// mode. With an allowlist (persisted), only its operations run; without,
// clients may use Automatic Persisted Queries (a hash, then the text once).
func NewGraphQL(root *resolvers.Resolver, dev bool, persisted map[string]string, limits RateLimits, log *slog.Logger) *handler.Server {
	cfg := graph.Config{Resolvers: root}
	cfg.Directives.Mask = maskDirective
	cfg.Directives.Admin = adminDirective(root.Audit, root.Snapshot, log)
	// A search with facets runs three index queries; like a page of
	// matters it is priced so that one request holds only a few.
	cfg.Complexity.Query.Search = func(child int, _ string, _ *search.Scope, _ *search.Order, _ *string, first *int, _ *string) int {
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, 100)
		}
		return 200 + child*n
	}
	// A page of matters runs a count and a page statement (on a large
	// catalogue, scans), so it costs 200 before its elements: at most 25
	// pages per request. The element count is capped at the page limit, so
	// an out-of-range first gets the page-size message, not this one.
	cfg.Complexity.Query.Matters = func(child int, _ *model.MatterFilter, _ *model.MatterOrder, first *int, _ *string) int {
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, 100)
		}
		return 200 + child*n
	}
	// A page of halls is priced like a page of matters, and so are each
	// hall's matters (loaded for the whole page in one statement).
	cfg.Complexity.Query.ServiceHalls = func(child int, _ *model.GeoPointInput, _ *float64, _ *string, _ *string, first *int, _ *string) int {
		n := 20
		if first != nil && *first > 0 {
			n = min(*first, 100)
		}
		return 200 + child*n
	}
	cfg.Complexity.Hall.Matters = func(child int, first *int) int {
		n := 5
		if first != nil && *first > 0 {
			n = min(*first, 20)
		}
		return 10 + child*n
	}
	// A navigation is an aggregation over the catalogue: it costs like a
	// hundred plain fields, so one request cannot fan out into hundreds.
	cfg.Complexity.Query.Navigation = func(child int, _ model.NavigationDimension, _ *string) int { return 100 + child }
	srv := handler.New(graph.NewExecutableSchema(cfg))
	// Subscriptions (graphql-transport-ws). Browsers cannot set headers on
	// a websocket, so the ticket comes in connection_init's payload
	// ({"authorization": "Bearer …"}) and is checked there: a connection
	// without a valid citizen or administrator ticket is refused.
	// A message on the socket is bounded like a request body: the query
	// capped at MaxQueryBytes, and room for its variables.
	readLimit := int64(MaxQueryBytes + 64<<10)
	srv.AddTransport(transport.Websocket{
		PayloadReadLimit:      &readLimit,
		KeepAlivePingInterval: 15 * time.Second,
		InitTimeout:           10 * time.Second,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			token := strings.TrimSpace(p.Authorization())
			if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
				token = strings.TrimSpace(token[7:])
			}
			ctx = context.WithValue(ctx, websocketKey{}, true)
			v := viewer.From(ctx).WithToken(token)
			if _, err := v.RequireUser(ctx); err != nil {
				// An administrator's ticket opens a socket too (customer
				// service agents follow their chats); each subscription
				// checks who may receive it.
				if _, aerr := v.RequireAdmin(ctx); aerr != nil {
					// graphql-transport-ws: a refused connection_init
					// closes the socket with 4403 Forbidden, so a client
					// tells a refusal from a dropped connection. A ticket
					// that could not be checked (the database away) is no
					// refusal: 1011, and the client tries again later.
					if models.ErrorCode(err) == models.ECodeUnauthenticated && models.ErrorCode(aerr) == models.ECodeUnauthenticated {
						ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, 4403), "Forbidden")
					} else {
						ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, 1011), "Try again later")
					}
					return ctx, nil, err
				}
			}
			return viewer.With(ctx, v), nil, nil
		},
	})
	// Every operation gets its own dataloaders: a websocket carries many,
	// and a cache as old as the connection would serve stale rows.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		// An operation over a websocket never passed the HTTP limits (only
		// the upgrade did): each is counted here.
		if ws, _ := ctx.Value(websocketKey{}).(bool); ws {
			v := viewer.From(ctx)
			if ok, _ := limits.Check(v.IP, v.Token); !ok {
				rateLimited.Inc()
				return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: "请求过于频繁，请稍后再试。",
					Extensions: map[string]any{"code": models.ECodeRateLimited}}}})
			}
		}
		ctx = audit.WithReads(loaders.Fresh(ctx, root.Catalogue, root.Cases, root.Files))
		respond := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := respond(ctx)
			flushReads(ctx, root.Audit, log)
			return resp
		}
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	// Parsed documents are cached; with queries capped at MaxQueryBytes the
	// cache holds at most 500 × 32 KB of source.
	srv.SetQueryCache(lru.New[*ast.QueryDocument](500))
	srv.SetParserTokenLimit(parserTokenLimit)
	srv.SetDisableSuggestion(!dev)
	if dev {
		srv.Use(extension.Introspection{})
	}
	if persisted != nil {
		srv.Use(persistedOnly{queries: persisted})
	} else {
		// Each entry is a query text of at most MaxQueryBytes.
		srv.Use(persistedShape{})
		srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	}
	// Shape limits first: the complexity calculation expands fragments.
	srv.Use(operationLimits{maxDepth: MaxDepth, maxFields: MaxFields, maxAliases: MaxAliases, introspection: dev})
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	srv.AroundResponses(observeOperation)
	srv.SetErrorPresenter(presenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("internal panic")
	})
	return srv
}

// flushReads writes the personal data an administrator read in clear
// during the operation (or, on a subscription, since its last event) to the
// audit log (SPEC §4).
func flushReads(ctx context.Context, log *audit.Service, logger *slog.Logger) {
	// Most operations read nothing in clear: they cost no lookup here.
	if log == nil || !audit.PendingReads(ctx) || !graphql.HasOperationContext(ctx) {
		return
	}
	v := viewer.From(ctx)
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return // only administrators' reads are collected
	}
	name := operationName(graphql.GetOperationContext(ctx))
	if name == "" {
		name = "anonymous"
	}
	if err := log.FlushReads(ctx, a, name, v.IP); err != nil {
		logger.ErrorContext(ctx, "audit log write failed", "operation", "read:"+name, "admin", a.ID, "err", err)
	}
}

// adminDirective implements @admin(permission:): the field runs only for a
// logged-in administrator of the management centre holding the permission
// (8.2.4), and every mutation it guards is written to the audit log with its
// outcome, whatever that is.
func adminDirective(log *audit.Service, snapshot func(context.Context, string, map[string]any) any, logger *slog.Logger) func(ctx context.Context, _ any, next graphql.Resolver, permission *string) (any, error) {
	return func(ctx context.Context, _ any, next graphql.Resolver, permission *string) (any, error) {
		v := viewer.From(ctx)
		a, err := v.RequireAdmin(ctx)
		if err != nil {
			return nil, err // no administrator to record: the access log has it
		}
		fc := graphql.GetFieldContext(ctx)
		audited := log != nil && fc != nil && fc.Object == "Mutation"
		outcome := "INTERNAL" // what a panic in the resolver leaves
		var before, after any
		if audited {
			// Written whatever happens after this point: a denial, an
			// error, a panic, or success.
			defer func() {
				if aerr := log.Record(ctx, audit.Entry{Admin: a, Operation: fc.Field.Name, Arguments: fc.Args, Outcome: outcome, IP: v.IP,
					Before: before, After: after}); aerr != nil {
					// The mutation has committed; the failure to record it is
					// an operator's alarm, not the caller's error.
					logger.ErrorContext(ctx, "audit log write failed", "operation", fc.Field.Name, "admin", a.ID, "err", aerr)
				}
			}()
		}
		if permission != nil {
			ok, err := v.Allowed(ctx, *permission)
			if err != nil {
				outcome = models.ErrorCode(err)
				return nil, err
			}
			if !ok {
				outcome = models.ECodeForbidden
				return nil, models.Errorf(models.ECodeForbidden, "您没有这项操作的权限，请联系管理员分配角色。")
			}
		}
		if audited && snapshot != nil {
			before = snapshot(ctx, fc.Field.Name, fc.Args)
		}
		res, err := next(ctx)
		outcome = "OK"
		if err != nil {
			outcome = models.ErrorCode(err)
		} else if audited && snapshot != nil {
			after = snapshot(ctx, fc.Field.Name, fc.Args)
		}
		return res, err
	}
}

// maskDirective implements @mask (9.4.5): the one place personal data is
// masked on its way out. It returns the same Go type the field resolved to.
func maskDirective(ctx context.Context, _ any, next graphql.Resolver, kind model.MaskKind) (any, error) {
	v, err := next(ctx)
	if err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		return mask.Apply(mask.Kind(kind), x), nil
	case *string:
		if x == nil || *x == "" {
			return (*string)(nil), nil
		}
		m := mask.Apply(mask.Kind(kind), *x)
		return &m, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("@mask on a %T field", v)
}

// Chinese messages for the errors gqlgen raises before any resolver runs.
var frameworkMessages = map[string]string{
	errcode.ParseFailed:             "查询语句无法解析，请检查语法。",
	errcode.ValidationFailed:        "查询不符合接口定义，请检查字段、参数和变量类型。",
	"COMPLEXITY_LIMIT_EXCEEDED":     "查询过于复杂，请减少请求的字段、别名或每页条数。",
	codeDepthLimit:                  "查询嵌套层数过多，请减少嵌套。",
	codeFieldLimit:                  "查询包含的字段过多（片段展开后计算），请精简查询。",
	codeAliasLimit:                  "查询使用的别名过多（至多100个），请精简查询。",
	"PERSISTED_QUERY_NOT_FOUND":     "未找到持久化查询，请发送完整查询。",
	"PERSISTED_QUERY_NOT_SUPPORTED": "不支持持久化查询。",
	codePersistedOnly:               "生产环境只执行已登记的查询，请使用客户端发布的版本。",
	codePersistedInvalid:            "持久化查询参数不正确：persistedQuery 应为 {version: 1, sha256Hash: 查询语句的 SHA-256}。",
}

// msgUnavailable answers a request that failed because the database could
// not be reached (database.Unavailable): the client may try again shortly.
const msgUnavailable = "服务暂时不可用，请稍后再试。"

// presenter is the one error presenter: application errors show their code
// and message; framework errors get a Chinese message and BAD_USER_INPUT with
// the parser's own words as detail; anything else is internal, logged with
// its detail and shown only as a generic sentence with the request ID.
func presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		var app *models.Error
		if errors.As(err, &app) {
			gerr.Message = app.Message
			gerr.Extensions = map[string]any{"code": app.Code}
			if app.Field != "" {
				gerr.Extensions["field"] = app.Field
			}
			return gerr
		}
		if code, _ := gerr.Extensions["code"].(string); code == codeIntrospectOff {
			gerr.Message = "生产环境不提供内省查询。"
			gerr.Extensions = map[string]any{"code": models.ECodeForbidden, "reason": code}
			return gerr
		}
		if code, ok := gerr.Extensions["code"].(string); ok {
			if msg, known := frameworkMessages[code]; known {
				detail := gerr.Message
				gerr.Message = msg
				gerr.Extensions = map[string]any{"code": models.ECodeBadUserInput, "reason": code, "detail": detail}
				if code == "PERSISTED_QUERY_NOT_FOUND" || code == "PERSISTED_QUERY_NOT_SUPPORTED" || code == codePersistedOnly {
					gerr.Extensions["code"] = code
				}
				return gerr
			}
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			gerr.Message = "请求处理超时，请稍后再试。"
			gerr.Extensions = map[string]any{"code": models.ECodeUnavailable}
			return gerr
		}
		if database.Unavailable(err) {
			log.WarnContext(ctx, "database unavailable", "request_id", RequestID(ctx), "err_type", fmt.Sprintf("%T", err), "err", firstPart(err.Error()), "path", gerr.Path.String())
			gerr.Message = msgUnavailable
			gerr.Extensions = map[string]any{"code": models.ECodeUnavailable}
			return gerr
		}
		id := RequestID(ctx)
		// The error's own text is logged cut short: errors from decoding a
		// request quote its body, which may hold passwords or personal data.
		log.ErrorContext(ctx, "internal error", "request_id", id, "err_type", fmt.Sprintf("%T", err),
			"err", firstPart(err.Error()), "path", gerr.Path.String())
		gerr.Message = fmt.Sprintf("服务器内部错误，请稍后再试。如需帮助，请提供请求编号 %s。", id)
		gerr.Extensions = map[string]any{"code": models.ECodeInternal, "requestId": id}
		return gerr
	}
}

// websocketKey marks the context of a websocket connection's operations.
type websocketKey struct{}

// Codes of the operation checks below.
const (
	codeDepthLimit    = "DEPTH_LIMIT_EXCEEDED"
	codeFieldLimit    = "FIELD_LIMIT_EXCEEDED"
	codeAliasLimit    = "ALIAS_LIMIT_EXCEEDED"
	codeIntrospectOff = "INTROSPECTION_DISABLED"
)

// MaxFields bounds the fields of an operation with every fragment spread
// expanded, so that fragments used many times over cannot multiply a small
// document into millions of fields (which would tie up a CPU in the
// complexity calculation itself, before any deadline applies).
const MaxFields = 2000

// MaxAliases bounds the aliased fields of an operation (fragments
// expanded): a client's screen asks the same field under a few names, an
// attacker under a thousand, to multiply the work of one request.
const MaxAliases = 100

// operationLimits refuses, before anything else looks at the operation,
// documents that are too deep or expand to too many fields, and introspection
// outside dev mode. Each fragment is measured once (memoised), so the check
// costs time linear in the document, whatever its expansion.
type operationLimits struct {
	maxDepth, maxFields int
	maxAliases          int
	introspection       bool
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = operationLimits{}

func (operationLimits) ExtensionName() string                   { return "OperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l operationLimits) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	if !l.introspection && introspects(rc.Operation.SelectionSet, map[*ast.FragmentDefinition]bool{}) {
		err := gqlerror.Errorf("introspection is disabled in production mode")
		errcode.Set(err, codeIntrospectOff)
		return err
	}
	m := &measurer{memo: map[*ast.FragmentDefinition]shape{}}
	sh := m.measure(rc.Operation.SelectionSet)
	switch {
	case sh.fields > l.maxFields:
		err := gqlerror.Errorf("operation expands to more than %d fields", l.maxFields)
		errcode.Set(err, codeFieldLimit)
		return err
	case l.maxAliases > 0 && sh.aliases > l.maxAliases:
		err := gqlerror.Errorf("operation has more than %d aliased fields", l.maxAliases)
		errcode.Set(err, codeAliasLimit)
		return err
	case sh.depth > l.maxDepth:
		err := gqlerror.Errorf("operation exceeds the maximum depth of %d", l.maxDepth)
		errcode.Set(err, codeDepthLimit)
		return err
	}
	return nil
}

// introspects reports whether a root selection set asks for __schema or
// __type, looking through inline fragments and fragment spreads.
func introspects(set ast.SelectionSet, seen map[*ast.FragmentDefinition]bool) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				return true
			}
		case *ast.InlineFragment:
			if introspects(s.SelectionSet, seen) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && !seen[s.Definition] {
				seen[s.Definition] = true
				if introspects(s.Definition.SelectionSet, seen) {
					return true
				}
			}
		}
	}
	return false
}

// shape is what a selection set expands to.
type shape struct{ fields, depth, aliases int }

// saturation keeps counts from overflowing on hostile documents.
const saturation = 1 << 40

type measurer struct {
	memo map[*ast.FragmentDefinition]shape
}

// measure returns the expanded field count and depth of a selection set.
// Introspection subtrees (__schema, __type; dev mode only) count their fields
// but not their depth: GraphiQL's own schema query nests ofType nine deep.
func (m *measurer) measure(set ast.SelectionSet) shape {
	var out shape
	for _, sel := range set {
		var sh shape
		switch s := sel.(type) {
		case *ast.Field:
			child := m.measure(s.SelectionSet)
			sh = shape{fields: 1 + child.fields, depth: 1 + child.depth, aliases: child.aliases}
			if s.Alias != "" && s.Alias != s.Name {
				sh.aliases++
			}
			if s.Name == "__schema" || s.Name == "__type" {
				sh.depth = 1
			}
		case *ast.InlineFragment:
			sh = m.measure(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			memo, ok := m.memo[s.Definition]
			if !ok {
				// Mark before descending: a cycle (which validation rejects
				// anyway) then counts as empty instead of recursing forever.
				m.memo[s.Definition] = shape{}
				memo = m.measure(s.Definition.SelectionSet)
				m.memo[s.Definition] = memo
			}
			sh = memo
		}
		out.fields = min(out.fields+sh.fields, saturation)
		out.aliases = min(out.aliases+sh.aliases, saturation)
		out.depth = max(out.depth, sh.depth)
	}
	return out
}

// observeOperation records each operation's latency.
// operationName is the operation's name: the request's operationName, or
// else the name the document gives it ("" for an anonymous operation).
func operationName(rc *graphql.OperationContext) string {
	if rc.OperationName == "" && rc.Operation != nil {
		return rc.Operation.Name
	}
	return rc.OperationName
}

func observeOperation(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if graphql.HasOperationContext(ctx) {
		rc := graphql.GetOperationContext(ctx)
		kind, name := "unknown", operationName(rc)
		if rc.Operation != nil {
			kind = string(rc.Operation.Operation)
		}
		outcome := "ok"
		if resp != nil && len(resp.Errors) > 0 {
			outcome = "error"
		}
		operationDuration.WithLabelValues(operationLabel(name), kind, outcome).
			Observe(time.Since(rc.Stats.OperationStart).Seconds())
	}
	return resp
}

// firstPart keeps an error message up to any quoted body, bounded.
func firstPart(msg string) string {
	for _, cut := range []string{" body:", "{", "\n"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
