package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"govmobile/license"
	"govmobile/models"
	"govmobile/resolvers"
	"govmobile/viewer"
)

// LicenseFile serves GET /licenses/{id}/file: the holder's licence file,
// the document with the issuing agency's seal, as a JSON attachment.
// Anyone but the holder gets NOT_FOUND.
func LicenseFile(svc *license.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		u, err := viewer.From(ctx).RequireUser(ctx)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		id, err := resolvers.ParseGlobalID("id", r.PathValue("id"), resolvers.KindLicense)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		l, err := svc.Get(ctx, id)
		if err == nil && l.HolderUserID != u.ID {
			err = models.Errorf(models.ECodeNotFound, "没有找到这个证照。")
		}
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		body, err := svc.FileOf(ctx, l)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+attrChars(l.Title+".json"))
		w.Header().Set("Cache-Control", "private, no-store")
		_, _ = w.Write(body)
	})
}
