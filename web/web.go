// Package web serves the non-GraphQL pages: GraphiQL with its assets from the
// binary (government intranets cannot reach a CDN), the privacy policy
// (10.3 i) and the health endpoints. It never serves user data.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"time"

	"govmobile/privacy"

	"github.com/99designs/gqlgen/graphql/playground"
)

//go:embed static/graphiql/*.js static/graphiql/*.css static/jssdk/index.js
var static embed.FS

// assetPrefix is where the GraphiQL assets are served.
const assetPrefix = "/graphiql/static/"

func sri(name string) string {
	b, err := static.ReadFile("static/graphiql/" + name)
	if err != nil {
		panic("web: missing embedded asset " + name)
	}
	sum := sha256.Sum256(b)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// GraphiQL returns the handler for /graphiql and its assets under
// /graphiql/static/.
func GraphiQL(endpoint string) http.Handler {
	page := playground.Handler("全国一体化政务服务平台移动端 GraphQL", endpoint,
		playground.WithGraphiqlVersion(assetPrefix+"graphiql.min.js", assetPrefix+"graphiql.min.css", sri("graphiql.min.js"), sri("graphiql.min.css")),
		playground.WithGraphiqlReactVersion(assetPrefix+"react.production.min.js", assetPrefix+"react-dom.production.min.js", sri("react.production.min.js"), sri("react-dom.production.min.js")),
		playground.WithGraphiqlPluginExplorerVersion(assetPrefix+"plugin-explorer.umd.js", assetPrefix+"plugin-explorer.css", sri("plugin-explorer.umd.js"), sri("plugin-explorer.css")),
		playground.WithGraphiqlEnablePluginExplorer(true),
	)
	sub, _ := fs.Sub(static, "static/graphiql")
	files := http.StripPrefix(assetPrefix, http.FileServer(http.FS(sub)))
	mux := http.NewServeMux()
	mux.Handle("GET /graphiql", page)
	mux.Handle("GET "+assetPrefix, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	}))
	return mux
}

// JSSDK serves /jssdk/index.js (9.2.2, example 1): lightAppJssdk for
// light apps' pages.
func JSSDK() http.Handler {
	b, err := static.ReadFile("static/jssdk/index.js")
	if err != nil {
		panic("web: missing embedded JSSDK")
	}
	sum := sha256.Sum256(b)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(b)
	})
}

// GraphiQLDisabled answers /graphiql in production mode.
func GraphiQLDisabled() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("GraphiQL 只在开发模式下提供（启动参数 --dev 或环境变量 DEV_MODE=true）。\n"))
	})
}

// Privacy serves the privacy policy as Markdown text, with its version in a
// header; ?format=json gives {version, text}.
func Privacy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Privacy-Policy-Version", privacy.Version)
		if r.URL.Query().Get("format") == "json" {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			_ = json.NewEncoder(w).Encode(map[string]string{"version": privacy.Version, "text": privacy.Text()})
			return
		}
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		_, _ = w.Write([]byte(privacy.Text()))
	})
}

// Healthz says the process is alive.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
}

// Check is one readiness check.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Detail, when set, adds figures to the answer (say, the index lag).
	Detail func() any
	// Optional marks a dependency the replica serves without, worse (the
	// shared rate-limit store: limits then count per replica): its failure
	// is reported as "degraded" and does not take the replica out of the
	// load balancer.
	Optional bool
}

// Readyz runs every check with a short deadline; any failure of a check
// that is not Optional answers 503. Each check reads "ok", "unavailable"
// or (Optional ones) "degraded"; "degraded" is true when any is.
// Failure details are logged by the caller's checks, not shown.
func Readyz(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status := map[string]string{}
		details := map[string]any{}
		ok, degraded := true, false
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil && c.Optional {
				status[c.Name] = "degraded"
				degraded = true
			} else if err != nil {
				status[c.Name] = "unavailable"
				ok = false
			} else {
				status[c.Name] = "ok"
			}
			if c.Detail != nil {
				details[c.Name] = c.Detail()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "degraded": degraded, "checks": status, "details": details})
	})
}
