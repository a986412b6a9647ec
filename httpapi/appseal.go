package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"govmobile/lightapp"
	"govmobile/models"
	"govmobile/resolvers"
	"govmobile/seal"
)

// AppSealPath is where an app's server seals a document with a seal it
// holds a grant for (8.3.2 b: who — an administrator or an app — may use
// which seal until when).
const AppSealPath = "/open/v1/seal"

// The seal endpoint's own refusal codes, besides the app-request ones of
// package lightapp.
const (
	CodeSealUnknown    = "SEAL_UNKNOWN"
	CodeSealNotGranted = "SEAL_NOT_GRANTED"
	CodeSealRevoked    = "SEAL_REVOKED"
)

type appSealAnswer struct {
	Result   string `json:"result"`
	RecordID string `json:"recordId,omitempty"`
	SignedAt string `json:"signedAt,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
}

// AppSeal answers POST /open/v1/seal: a body {"sealId": "…", "sm3": "…"}
// signed by the app (SPEC §6, X-App-Id its code). The platform seals the
// document's digest with the seal when the app holds a grant for it, and
// answers the sealing record's ID, which anyone verifies with verifySeal.
// Every answer is signed by the platform over the request's nonce.
func AppSeal(apps *lightapp.Service, seals *seal.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		refuse := func(status int, code, msg string) {
			apps.Answer(w, r, AppSealPath, status, appSealAnswer{Result: "false", Code: code, Message: msg})
		}
		if r.Method != http.MethodPost {
			refuse(http.StatusMethodNotAllowed, lightapp.CodeBadRequest, "请用 POST 请求。")
			return
		}
		app, body, err := apps.Authenticate(r, 4<<10)
		if err != nil {
			if rf, ok := lightapp.AsRefusal(err); ok {
				refuse(rf.Status, rf.Code, rf.Message)
				return
			}
			log.ErrorContext(r.Context(), "app seal failed", "err", err)
			refuse(http.StatusInternalServerError, lightapp.CodeInternal, "服务器内部错误，请稍后再试。")
			return
		}
		var in struct {
			SealID string `json:"sealId"`
			SM3    string `json:"sm3"`
		}
		if json.Unmarshal(body, &in) != nil {
			refuse(http.StatusBadRequest, lightapp.CodeBadRequest, `请求体应为 {"sealId": "…", "sm3": "…"}。`)
			return
		}
		sealID, err := resolvers.ParseGlobalID("sealId", in.SealID, resolvers.KindSeal)
		if err != nil {
			refuse(http.StatusBadRequest, lightapp.CodeBadRequest, "印章编号不正确。")
			return
		}
		rec, err := seals.Sign(r.Context(), sealID, seal.Signer{Kind: seal.SignerApp, ID: app.ID}, in.SM3, 0)
		if err != nil {
			switch models.ErrorCode(err) {
			case models.ECodeBadUserInput:
				refuse(http.StatusBadRequest, lightapp.CodeBadRequest, "文件摘要应为64位小写十六进制的 SM3 值。")
			case models.ECodeNotFound:
				refuse(http.StatusNotFound, CodeSealUnknown, "没有这枚印章。")
			case models.ECodeForbidden:
				refuse(http.StatusForbidden, CodeSealNotGranted, "应用没有这枚印章的有效用印授权。")
			case models.ECodeConflict:
				refuse(http.StatusConflict, CodeSealRevoked, "这枚印章已经停用。")
			default:
				log.ErrorContext(r.Context(), "app seal failed", "err", err)
				refuse(http.StatusInternalServerError, lightapp.CodeInternal, "服务器内部错误，请稍后再试。")
			}
			return
		}
		apps.Answer(w, r, AppSealPath, http.StatusOK, appSealAnswer{Result: "true", RecordID: resolvers.GlobalID(resolvers.KindSealRecord, rec.ID),
			SignedAt: rec.SignedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")})
	})
}
