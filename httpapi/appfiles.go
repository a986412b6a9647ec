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
	"govmobile/models"
	"govmobile/permission"
	"govmobile/resolvers"
	"govmobile/viewer"
)

// AppFiles serves the files of service applications (8.2.2 b):
//
//	POST /app-files       multipart/form-data: appId (global ID), kind
//	                      (PACKAGE, H5_BUNDLE or ICON), file → the file as JSON
//	GET  /app-files/{id}  the file
//
// Uploads need apps.manage, downloads apps.manage or apps.review, both for
// an app in the administrator's region; an online app's icons are public.
// Anyone else gets NOT_FOUND, as for a file that does not exist.
func AppFiles(db *gorm.DB, svc *apps.Service, store *cases.Files, inRegion func(context.Context, *models.Admin, uint64) error, log *slog.Logger) http.Handler {
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
		if ok, err := v.Allowed(ctx, permission.ManageApps); err != nil || !ok {
			if err == nil {
				err = models.Errorf(models.ECodeForbidden, "您没有这项操作的权限，请联系管理员分配角色。")
			}
			writeAppError(w, log, err)
			return
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
		var appID uint64
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
				if err := inRegion(ctx, a, appID); err != nil {
					writeAppError(w, log, models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。"))
					return
				}
			case "kind":
				v, _ := io.ReadAll(io.LimitReader(part, 40))
				kind = string(v)
			case "file":
				if appID == 0 || kind == "" {
					writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请先在表单中给出 appId 和 kind，再附上文件。")
					return
				}
				f, err := svc.AddFile(ctx, store, a.ID, appID, kind, part.FileName(), part)
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
		if !public && !mayRead(r, f, inRegion) {
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
func mayRead(r *http.Request, f *models.AppFile, inRegion func(context.Context, *models.Admin, uint64) error) bool {
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
	if f.AppID != 0 {
		return inRegion(ctx, a, f.AppID) == nil
	}
	return true
}
