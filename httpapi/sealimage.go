package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"govmobile/models"
	"govmobile/resolvers"
	"govmobile/seal"
)

// SealImage serves GET /seals/{id}/image: a seal's imprint as PNG. It is
// public, like the imprint on any sealed paper; it proves nothing (the SM2
// signature does) and carries no personal data.
func SealImage(svc *seal.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := resolvers.ParseGlobalID("id", r.PathValue("id"), resolvers.KindSeal)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		img, err := svc.Image(r.Context(), id)
		if err == nil && img == nil {
			err = models.Errorf(models.ECodeNotFound, "这枚印章没有印模图片。")
		}
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		etag := `"` + img.SM3 + `"`
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", strconv.Itoa(len(img.PNG)))
		_, _ = w.Write(img.PNG)
	})
}
