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
	"time"

	"govmobile/graph"
	"govmobile/graph/model"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/resolvers"

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

// NewGraphQL builds the GraphQL server. Introspection is on only in dev mode.
func NewGraphQL(root *resolvers.Resolver, dev bool, log *slog.Logger) *handler.Server {
	cfg := graph.Config{Resolvers: root}
	cfg.Directives.Mask = maskDirective
	cfg.Complexity.Query.Matters = func(child int, _ *model.MatterFilter, _ *model.MatterOrder, first *int, _ *string) int {
		n := 20
		if first != nil && *first > 0 {
			n = *first
		}
		return 1 + child*n
	}
	srv := handler.New(graph.NewExecutableSchema(cfg))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(parserTokenLimit)
	srv.SetDisableSuggestion(!dev)
	if dev {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(MaxComplexity))
	srv.Use(depthLimit{max: MaxDepth})
	srv.AroundResponses(observeOperation)
	srv.SetErrorPresenter(presenter(log))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("internal panic")
	})
	return srv
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
	"PERSISTED_QUERY_NOT_FOUND":     "未找到持久化查询，请发送完整查询。",
	"PERSISTED_QUERY_NOT_SUPPORTED": "不支持持久化查询。",
}

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
		if code, ok := gerr.Extensions["code"].(string); ok {
			if msg, known := frameworkMessages[code]; known {
				detail := gerr.Message
				gerr.Message = msg
				gerr.Extensions = map[string]any{"code": models.ECodeBadUserInput, "reason": code, "detail": detail}
				if code == "PERSISTED_QUERY_NOT_FOUND" || code == "PERSISTED_QUERY_NOT_SUPPORTED" {
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
		id := RequestID(ctx)
		log.ErrorContext(ctx, "internal error", "err", err.Error(), "path", gerr.Path.String())
		gerr.Message = fmt.Sprintf("服务器内部错误，请稍后再试。如需帮助，请提供请求编号 %s。", id)
		gerr.Extensions = map[string]any{"code": models.ECodeInternal, "requestId": id}
		return gerr
	}
}

const codeDepthLimit = "DEPTH_LIMIT_EXCEEDED"

// depthLimit refuses operations nested deeper than max (fragments included).
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	if depth(rc.Operation.SelectionSet, 0, d.max) > d.max {
		err := gqlerror.Errorf("operation exceeds the maximum depth of %d", d.max)
		errcode.Set(err, codeDepthLimit)
		return err
	}
	return nil
}

// depth measures a selection set, stopping early beyond limit (which also
// stops cycles through fragments, which validation rejects anyway).
func depth(set ast.SelectionSet, cur, limit int) int {
	if cur > limit {
		return cur
	}
	deepest := cur
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.SelectionSet) == 0 {
				d = cur + 1
			} else {
				d = depth(s.SelectionSet, cur+1, limit)
			}
		case *ast.InlineFragment:
			d = depth(s.SelectionSet, cur, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = depth(s.Definition.SelectionSet, cur, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// observeOperation records each operation's latency.
func observeOperation(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if graphql.HasOperationContext(ctx) {
		rc := graphql.GetOperationContext(ctx)
		kind, name := "unknown", rc.OperationName
		if rc.Operation != nil {
			kind = string(rc.Operation.Operation)
			if name == "" {
				name = rc.Operation.Name
			}
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
