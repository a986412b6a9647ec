package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"govmobile/audit"
	"govmobile/catalogue"
	"govmobile/catalogue/exchange"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/resolvers"
	"govmobile/viewer"
)

// CatalogueDeps are what the catalogue exchange endpoints need.
type CatalogueDeps struct {
	DB        *gorm.DB
	Catalogue *catalogue.Service
	Audit     *audit.Service
	Log       *slog.Logger
}

// ExportPath and ImportPath are the catalogue exchange endpoints (8.3.3 a,
// b). They are HTTP, not GraphQL, because a province's catalogue is tens of
// megabytes: far above a GraphQL request's limit.
const (
	ExportPath = "/catalogue/export"
	ImportPath = "/catalogue/import"
)

// CatalogueExport serves GET /catalogue/export?kind=&format=[&regionCode=]:
// the catalogue within the administrator's reach (catalogue.manage) as a
// JSON or CSV attachment, streamed.
func CatalogueExport(d CatalogueDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, scope, err := catalogueCall(r, d)
		if err != nil {
			writeAppError(w, d.Log, err)
			return
		}
		q := r.URL.Query()
		kind, format := exchange.Kind(strings.ToUpper(q.Get("kind"))), exchange.Format(strings.ToUpper(q.Get("format")))
		if code := q.Get("regionCode"); code != "" {
			if d.Catalogue.Regions().Get(code) == nil {
				writeAppError(w, d.Log, models.InvalidField("regionCode", "行政区划代码不存在。"))
				return
			}
			if !strings.HasPrefix(resolvers.RegionPrefix(code), scope.RegionPrefix) {
				writeAppError(w, d.Log, models.Errorf(models.ECodeForbidden, "只能导出本地区的目录。"))
				return
			}
			scope.RegionPrefix = resolvers.RegionPrefix(code)
		}
		ext, ctype := ".json", "application/json; charset=utf-8"
		switch {
		case format == exchange.CSV:
			ext, ctype = ".csv", "text/csv; charset=utf-8"
		case format != exchange.JSON:
			writeAppError(w, d.Log, models.InvalidField("format", "格式只能是 JSON 或 CSV。"))
			return
		}
		if !slices.Contains(exchange.Kinds, kind) {
			writeAppError(w, d.Log, models.InvalidField("kind", "类型只能是 AGENCY、HALL、MATTER 或 GUIDE。"))
			return
		}
		if !exchanging.TryLock() {
			writeAppError(w, d.Log, errExchangeBusy)
			return
		}
		defer exchanging.Unlock()
		extendDeadlines(w)
		// Streamed as it is read: a province's matters are far too many to
		// hold. The headers go with the first bytes; an error before them is
		// a clean answer, one after them aborts the half-sent file.
		out := &firstWrite{w: w, start: func() {
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+attrChars("catalogue-"+strings.ToLower(string(kind))+ext))
			w.Header().Set("Cache-Control", "private, no-store")
		}}
		err = exchange.Export(r.Context(), d.DB, kind, format, scope, out)
		record(r.Context(), d, a, "exportCatalogue", map[string]any{"kind": kind, "format": format, "scope": scope}, err)
		switch {
		case err != nil && !out.started:
			writeAppError(w, d.Log, err)
		case err != nil:
			d.Log.Error("catalogue export failed mid-stream", "err", err)
			panic(http.ErrAbortHandler)
		case !out.started:
			out.start()
			w.WriteHeader(http.StatusOK)
		}
	})
}

// exchanging lets one catalogue import or export run at a time in this
// process: each holds the catalogue (and, importing, SQLite's write lock)
// for seconds, and a second would only wait or starve the other writers.
var exchanging sync.Mutex

var errExchangeBusy = models.Errorf(models.ECodeConflict, "另一项目录导入或导出正在进行，请稍后再试。")

// extendDeadlines gives a catalogue exchange the time a 20 MB file needs
// over a slow line, beyond the server's 30 s.
func extendDeadlines(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	at := time.Now().Add(10 * time.Minute)
	_ = rc.SetReadDeadline(at)
	_ = rc.SetWriteDeadline(at)
}

// firstWrite calls start before the first byte is written.
type firstWrite struct {
	w       io.Writer
	start   func()
	started bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.started {
		f.started = true
		f.start()
	}
	return f.w.Write(p)
}

// readWatch remembers a failure to read the request body (a client that
// stalled or went away), so it is told as such, not as a server fault.
type readWatch struct {
	r   io.Reader
	err error
}

func (rw *readWatch) Read(p []byte) (int, error) {
	n, err := rw.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		rw.err = err
	}
	return n, err
}

// CatalogueImport serves POST /catalogue/import?kind=&format=[&dryRun=true]
// with the file as the body: all or nothing, answered with the report.
func CatalogueImport(d CatalogueDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, scope, err := catalogueCall(r, d)
		if err != nil {
			writeAppError(w, d.Log, err)
			return
		}
		q := r.URL.Query()
		kind, format := exchange.Kind(strings.ToUpper(q.Get("kind"))), exchange.Format(strings.ToUpper(q.Get("format")))
		dry := q.Get("dryRun") == "true" || q.Get("dryRun") == "1"
		if scope.AgencyCode != "" && kind != exchange.KindMatter && kind != exchange.KindGuide {
			writeAppError(w, d.Log, models.Errorf(models.ECodeForbidden, "部门管理员只能导入本部门的事项和办事指南。"))
			return
		}
		if !exchanging.TryLock() {
			writeAppError(w, d.Log, errExchangeBusy)
			return
		}
		defer exchanging.Unlock()
		extendDeadlines(w)
		body := &readWatch{r: http.MaxBytesReader(w, r.Body, exchange.MaxBytes+1)}
		rep, err := exchange.Import(r.Context(), d.DB, kind, format, body, exchange.Options{DryRun: dry, Scope: scope})
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig) || errors.As(body.err, &tooBig):
			err = models.InvalidField("file", "导入文件不能超过 20 MB，请按地市拆分后分别导入。")
		case err != nil && body.err != nil:
			err = models.InvalidField("file", "文件没有完整上传（连接中断或过慢），请重新上传。")
		}
		args := map[string]any{"kind": kind, "format": format, "dryRun": dry, "scope": scope}
		if rep != nil {
			args["total"], args["created"], args["updated"], args["invalid"] = rep.Total, rep.Created, rep.Updated, len(rep.Errors)
		}
		record(r.Context(), d, a, "importCatalogue", args, err)
		if err != nil {
			writeAppError(w, d.Log, err)
			return
		}
		if rep.Applied() {
			d.Catalogue.Changed()
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(reportJSON(rep))
	})
}

// catalogueCall is the administrator calling and the scope they may
// exchange: their region, or their agency.
func catalogueCall(r *http.Request, d CatalogueDeps) (*models.Admin, exchange.Scope, error) {
	ctx := r.Context()
	v := viewer.From(ctx)
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return nil, exchange.Scope{}, err
	}
	if ok, err := v.Allowed(ctx, permission.ManageCatalogue); err != nil {
		return nil, exchange.Scope{}, err
	} else if !ok {
		return nil, exchange.Scope{}, models.Errorf(models.ECodeForbidden, "没有目录管理权限。")
	}
	scope := exchange.Scope{RegionPrefix: resolvers.RegionPrefix(a.RegionCode)}
	if a.AgencyID != 0 {
		// A department's administrator exchanges the department's own
		// matters, within the department's region.
		ag, err := d.Catalogue.Agency(ctx, a.AgencyID)
		if err != nil {
			return nil, exchange.Scope{}, err
		}
		if ag == nil || (a.RegionCode != "" && !strings.HasPrefix(resolvers.RegionPrefix(ag.RegionCode), scope.RegionPrefix)) {
			return nil, exchange.Scope{}, models.Errorf(models.ECodeForbidden, "所属部门不在您的管辖范围内，不能交换目录。")
		}
		scope.AgencyCode, scope.RegionPrefix = ag.Code, resolvers.RegionPrefix(ag.RegionCode)
	}
	return a, scope, nil
}

// record writes the exchange to the audit log, as the @admin directive
// does for mutations.
func record(ctx context.Context, d CatalogueDeps, a *models.Admin, op string, args map[string]any, err error) {
	outcome := "OK"
	if err != nil {
		outcome = models.ErrorCode(err)
	}
	if aerr := d.Audit.Record(ctx, audit.Entry{Admin: a, Operation: op, Arguments: args, Outcome: outcome, IP: viewer.From(ctx).IP}); aerr != nil {
		d.Log.Error("audit record failed", "operation", op, "err", aerr)
	}
}

type rowErrorJSON struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// reportJSON is an import's report as the endpoint answers it.
func reportJSON(rep *exchange.Report) map[string]any {
	errs := make([]rowErrorJSON, len(rep.Errors))
	for i, e := range rep.Errors {
		errs[i] = rowErrorJSON{Row: e.Row, Field: e.Field, Message: e.Message}
	}
	return map[string]any{"kind": rep.Kind, "dryRun": rep.DryRun, "applied": rep.Applied(), "total": rep.Total, "valid": rep.Valid,
		"created": rep.Created, "updated": rep.Updated, "unchanged": rep.Unchanged, "errors": errs, "truncated": rep.Truncated}
}
