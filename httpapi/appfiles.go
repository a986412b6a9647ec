package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"

	"gorm.io/gorm"

	"govmobile/apps"
	"govmobile/cases"
	"govmobile/filing"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/resolvers"
	"govmobile/viewer"
)

// AppFilesDeps are what the app file endpoint needs.
type AppFilesDeps struct {
	DB      *gorm.DB
	Apps    *apps.Service
	Filings *filing.Service
	Store   *cases.Files
	// AppInRegion and FilingInScope say whether an administrator may act
	// on an app or a filing.
	AppInRegion   func(context.Context, *models.Admin, uint64) error
	FilingInScope func(context.Context, *models.Admin, uint64) error
	Log           *slog.Logger
}

// AppFiles serves the files of service applications (8.2.2 b) and the
// installation packages of filings (10.1):
//
//	POST /app-files       multipart/form-data: appId or filingId (global
//	                      ID), kind (PACKAGE, H5_BUNDLE or ICON; a filing
//	                      takes PACKAGE), file → the file as JSON
//	GET  /app-files/{id}  the file
//
// Uploads need apps.manage (filings.manage), downloads apps.manage or
// apps.review (filings.manage or filings.review), for an app in the
// administrator's region (a filing in their scope); an online app's icons
// are public. Anyone else gets NOT_FOUND, as for a file that does not
// exist.
func AppFiles(d AppFilesDeps) http.Handler {
	db, svc, store, inRegion, log := d.DB, d.Apps, d.Store, d.AppInRegion, d.Log
	mux := http.NewServeMux()
	notFound := models.Errorf(models.ECodeNotFound, "没有找到这个文件。")
	mux.HandleFunc("POST /app-files", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v := viewer.From(ctx)
		a, err := v.RequireAdmin(ctx)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		require := func(p string) bool {
			ok, err := v.Allowed(ctx, p)
			if err == nil && !ok {
				err = models.Errorf(models.ECodeForbidden, "您没有这项操作的权限，请联系管理员分配角色。")
			}
			if err != nil {
				writeAppError(w, log, err)
				return false
			}
			return true
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
			writeError(w, http.StatusUnsupportedMediaType, models.ECodeBadUserInput, "上传文件请使用 multipart/form-data。")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, apps.MaxUploadBytes+uploadOverhead)
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "上传请求格式不正确。")
			return
		}
		var appID, filingID uint64
		var kind string
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "上传请求格式不正确或文件过大。")
				return
			}
			switch part.FormName() {
			case "appId":
				v, _ := io.ReadAll(io.LimitReader(part, 200))
				if appID, err = resolvers.ParseGlobalID("appId", string(v), "App"); err != nil {
					writeAppError(w, log, err)
					return
				}
				if !require(permission.ManageApps) {
					return
				}
				if err := inRegion(ctx, a, appID); err != nil {
					writeAppError(w, log, models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。"))
					return
				}
			case "filingId":
				v, _ := io.ReadAll(io.LimitReader(part, 200))
				if filingID, err = resolvers.ParseGlobalID("filingId", string(v), "Filing"); err != nil {
					writeAppError(w, log, err)
					return
				}
				if !require(permission.ManageFilings) {
					return
				}
				if err := d.FilingInScope(ctx, a, filingID); err != nil {
					writeAppError(w, log, err)
					return
				}
			case "kind":
				v, _ := io.ReadAll(io.LimitReader(part, 40))
				kind = string(v)
			case "file":
				var f *models.AppFile
				var err error
				switch {
				case appID != 0 && filingID == 0 && kind != "":
					f, err = svc.AddFile(ctx, store, a.ID, appID, kind, part.FileName(), part)
				case filingID != 0 && appID == 0 && kind == apps.FilePackage:
					f, err = apps.StoreFile(ctx, db, store, a.ID, apps.FileOwner{FilingID: filingID}, kind, part.FileName(), part,
						func(tx *gorm.DB) error { return d.Filings.AdmitsPackage(tx, filingID) },
						func(tx *gorm.DB, f *models.AppFile) error { return d.Filings.AttachPackage(tx, a.ID, filingID, f.ID) })
				default:
					writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请先在表单中给出 appId 和 kind（或 filingId 和 kind=PACKAGE），再附上文件。")
					return
				}
				if err != nil {
					writeAppError(w, log, err)
					return
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				_ = json.NewEncoder(w).Encode(map[string]any{"id": resolvers.GlobalID(resolvers.KindAppFile, f.ID), "kind": f.Kind,
					"name": f.Name, "contentType": f.ContentType, "size": f.Size, "sm3": f.SM3})
				return
			}
		}
		writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "没有收到文件（表单字段 file）。")
	})
	mux.HandleFunc("GET /app-files/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		id, err := resolvers.ParseGlobalID("id", r.PathValue("id"), resolvers.KindAppFile)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		f, err := apps.File(ctx, db, id)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		public := false
		if f.Kind == apps.FileIcon && f.AppID != 0 {
			if a, err := svc.Get(ctx, f.AppID); err == nil && apps.Status(a.Status) == apps.Online {
				public = true
			}
		}
		if !public && !mayRead(r, f, inRegion, d.FilingInScope) {
			writeAppError(w, log, notFound)
			return
		}
		fh, err := store.Content(f.SM3)
		if err != nil {
			if os.IsNotExist(err) {
				writeAppError(w, log, notFound)
				return
			}
			writeAppError(w, log, err)
			return
		}
		defer fh.Close()
		w.Header().Set("Content-Type", f.ContentType)
		w.Header().Set("Content-Length", strconv.FormatInt(f.Size, 10))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if public {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		} else {
			w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+attrChars(f.Name))
			w.Header().Set("Cache-Control", "private, no-store")
		}
		_, _ = io.Copy(w, fh)
	})
	return mux
}

// mayRead says whether the caller, an administrator who connects or
// reviews apps (or, for a filing's package, files or reviews filings), may
// download a file of an app in their region.
func mayRead(r *http.Request, f *models.AppFile, inRegion, filingInScope func(context.Context, *models.Admin, uint64) error) bool {
	ctx := r.Context()
	v := viewer.From(ctx)
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return false
	}
	perms := []string{permission.ManageApps, permission.ReviewApps}
	if f.FilingID != 0 {
		perms = []string{permission.ManageFilings, permission.ReviewFilings}
	}
	allowed := false
	for _, p := range perms {
		if ok, err := v.Allowed(ctx, p); err == nil && ok {
			allowed = true
		}
	}
	if !allowed {
		return false
	}
	if f.FilingID != 0 {
		return filingInScope(ctx, a, f.FilingID) == nil
	}
	return inRegion(ctx, a, f.AppID) == nil
}
