package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"govmobile/audit"
	"govmobile/cases"
	"govmobile/consult"
	"govmobile/database"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/resolvers"
	"govmobile/viewer"
)

// uploadOverhead is what a multipart request may carry besides the file.
const uploadOverhead = 64 << 10

// Files serves the files of cases (8.1.2 a, issue 4):
//
//	POST /files      multipart/form-data: caseId (global ID), file → the file as JSON
//	GET  /files/{id} the file, to the applicant or the case agency's staff
//
// Both take the ticket in "Authorization: Bearer …": an applicant uploads
// materials for their own case, an agency's staff member result documents
// for a case of the agency. Downloads are sent as attachments with their
// sniffed type and nosniff; anyone else asking gets NOT_FOUND, as for a
// file that does not exist.
func Files(store *cases.Files, attachments *consult.Attachments, auditLog *audit.Service, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /files", func(w http.ResponseWriter, r *http.Request) {
		who, err := fileViewer(r, permission.HandleCases)
		if err != nil {
			writeAppError(w, log, err)
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
			writeError(w, http.StatusUnsupportedMediaType, models.ECodeBadUserInput, "上传材料请使用 multipart/form-data。")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, cases.MaxFileBytes+uploadOverhead)
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "上传请求格式不正确。")
			return
		}
		var caseID, consultationID uint64
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "上传请求格式不正确或材料过大。")
				return
			}
			switch part.FormName() {
			case "caseId":
				v, _ := io.ReadAll(io.LimitReader(part, 200))
				if caseID, err = resolvers.ParseGlobalID("caseId", string(v), "Case"); err != nil {
					writeAppError(w, log, err)
					return
				}
			case "consultationId":
				v, _ := io.ReadAll(io.LimitReader(part, 200))
				if consultationID, err = resolvers.ParseGlobalID("consultationId", string(v), resolvers.KindConsultation); err != nil {
					writeAppError(w, log, err)
					return
				}
			case "file":
				var out map[string]any
				switch {
				case caseID != 0 && consultationID == 0:
					f, err := store.Store(r.Context(), who, caseID, part.FileName(), part)
					if err != nil {
						writeAppError(w, log, err)
						return
					}
					out = map[string]any{"id": resolvers.GlobalID(resolvers.KindCaseFile, f.ID), "name": f.Name,
						"contentType": f.ContentType, "size": f.Size, "sm3": f.SM3}
				case consultationID != 0 && caseID == 0 && who.UserID != 0:
					f, err := attachments.Store(r.Context(), who.UserID, consultationID, part.FileName(), part)
					if err != nil {
						writeAppError(w, log, err)
						return
					}
					out = map[string]any{"id": resolvers.GlobalID(resolvers.KindConsultationFile, f.ID), "name": f.Name,
						"contentType": f.ContentType, "size": f.Size, "sm3": f.SM3}
				case consultationID != 0 && caseID == 0:
					writeAppError(w, log, models.Errorf(models.ECodeNotFound, "没有找到这条咨询投诉。"))
					return
				default:
					writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请先在表单中给出 caseId 或 consultationId（二者选一），再附上文件。")
					return
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				_ = json.NewEncoder(w).Encode(out)
				return
			}
		}
		writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "没有收到文件（表单字段 file）。")
	})
	mux.HandleFunc("GET /files/{id}", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var name, contentType string
		var size int64
		var fh *os.File
		if id, err := resolvers.ParseGlobalID("id", r.PathValue("id"), resolvers.KindConsultationFile); err == nil {
			who, err := fileViewer(r, permission.HandleConsults)
			if err != nil {
				writeAppError(w, log, err)
				return
			}
			row, f, err := attachments.Open(ctx, consult.Viewer{UserID: who.UserID, AgencyID: who.AgencyID}, id)
			if err != nil {
				writeAppError(w, log, err)
				return
			}
			name, contentType, size, fh = row.Name, row.ContentType, row.Size, f
		} else {
			who, err := fileViewer(r, permission.HandleCases)
			if err != nil {
				writeAppError(w, log, err)
				return
			}
			id, err := resolvers.ParseGlobalID("id", r.PathValue("id"), resolvers.KindCaseFile)
			if err != nil {
				writeAppError(w, log, err)
				return
			}
			row, f, err := store.Open(ctx, who, id)
			if err != nil {
				writeAppError(w, log, err)
				return
			}
			name, contentType, size, fh = row.Name, row.ContentType, row.Size, f
		}
		defer fh.Close()
		// An administrator downloading a citizen's file reads personal
		// data in clear: audit-logged before a byte is sent (SPEC §4), or
		// not sent at all.
		if err := auditFileRead(r, auditLog, r.PathValue("id")); err != nil {
			writeAppError(w, log, err)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+attrChars(name))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "private, no-store")
		_, _ = io.Copy(w, fh)
	})
	return mux
}

// auditFileRead records an administrator's download of a file
// ("read:file"); a citizen's own download is not recorded.
func auditFileRead(r *http.Request, auditLog *audit.Service, fileID string) error {
	ctx := r.Context()
	v := viewer.From(ctx)
	if u, _ := v.User(ctx); u != nil || auditLog == nil {
		return nil
	}
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return err
	}
	return auditLog.Record(ctx, audit.Entry{Admin: a, Operation: "read:file", Arguments: map[string]any{"file": fileID}, Outcome: "OK", IP: v.IP})
}

// fileViewer is who sends a file request: a logged-in citizen, or an
// administrator (who, unless staff of an agency, sees no case's files).
// Without a valid ticket, UNAUTHENTICATED; a failure to check the ticket
// is the server's, not the caller's.
func fileViewer(r *http.Request, staffPermission string) (cases.Viewer, error) {
	ctx := r.Context()
	v := viewer.From(ctx)
	u, err := v.User(ctx)
	if u != nil {
		return cases.Viewer{UserID: u.ID}, nil
	}
	if err != nil && models.ErrorCode(err) != models.ECodeUnauthenticated {
		return cases.Viewer{}, err
	}
	a, err := v.RequireAdmin(ctx)
	if a != nil {
		// Staff reach their agency's files only with the permission the
		// files' work needs; without it they see none, as anyone else.
		ok, err := v.Allowed(ctx, staffPermission)
		if err != nil {
			return cases.Viewer{}, err
		}
		if !ok {
			return cases.Viewer{StaffID: a.ID}, nil
		}
		return cases.Viewer{AgencyID: a.AgencyID, StaffID: a.ID}, nil
	}
	if err != nil && models.ErrorCode(err) != models.ECodeUnauthenticated {
		return cases.Viewer{}, err
	}
	return cases.Viewer{}, models.Errorf(models.ECodeUnauthenticated, "请先登录。")
}

// writeAppError answers with an application error's code and message; any
// other error is logged and answered as INTERNAL without its detail, except
// a database out of reach (database.Unavailable): UNAVAILABLE, 503.
func writeAppError(w http.ResponseWriter, log *slog.Logger, err error) {
	var e *models.Error
	if !errors.As(err, &e) && database.Unavailable(err) {
		log.Warn("file endpoint: database unavailable", "err_type", fmt.Sprintf("%T", err), "err", firstPart(err.Error()))
		e = models.Errorf(models.ECodeUnavailable, msgUnavailable)
	}
	if e == nil {
		log.Error("file endpoint failed", "err", err)
		writeError(w, http.StatusInternalServerError, models.ECodeInternal, "服务器内部错误，请稍后再试。")
		return
	}
	status := map[string]int{
		models.ECodeUnauthenticated: http.StatusUnauthorized, models.ECodeForbidden: http.StatusForbidden,
		models.ECodeNotFound: http.StatusNotFound, models.ECodeConflict: http.StatusConflict,
		models.ECodeRateLimited: http.StatusTooManyRequests, models.ECodeUnavailable: http.StatusServiceUnavailable,
	}[e.Code]
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeError(w, status, e.Code, e.Message)
}

// attrChars percent-encodes every byte of s that is not an attr-char of
// RFC 8187, for a filename* parameter.
func attrChars(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
