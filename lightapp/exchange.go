package lightapp

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/signedreq"
)

// ExchangePath is where an app's server exchanges a ticket.
const ExchangePath = "/open/v1/user-info"

// nonceWindow is how long a nonce is remembered: the signature's window.
const nonceWindow = signedreq.MaxSkew

// The exchange's error codes, each its own refusal.
const (
	CodeBadRequest     = "BAD_REQUEST"
	CodeUnknownApp     = "APP_UNKNOWN"
	CodeAppOffline     = "APP_OFFLINE"
	CodeSignature      = "SIGNATURE_INVALID"
	CodeTimestamp      = "TIMESTAMP_INVALID"
	CodeNonce          = "NONCE_INVALID"
	CodeNonceReused    = "NONCE_REUSED"
	CodeTicketInvalid  = "TICKET_INVALID"
	CodeTicketExpired  = "TICKET_EXPIRED"
	CodeTicketUsed     = "TICKET_USED"
	CodeTicketForeign  = "TICKET_FOREIGN"
	CodeRevoked        = "AUTHORIZATION_REVOKED"
	CodeConsentChanged = "AUTHORIZATION_OUTDATED"
	CodeNoDataKey      = "DATA_KEY_MISSING"
	CodeInternal       = "INTERNAL"
)

// exchangeError is a refusal: an HTTP status, a code and a Chinese message.
type exchangeError struct {
	status        int
	code, message string
}

func (e *exchangeError) Error() string { return e.code + ": " + e.message }

func refuse(status int, code, message string) *exchangeError {
	return &exchangeError{status, code, message}
}

// Response is the exchange's answer: the envelope and the version of the
// data key that sealed it.
type Response struct {
	Result     string `json:"result"`
	KeyVersion int    `json:"keyVersion,omitempty"`
	Data       string `json:"data,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// Handler answers POST /open/v1/user-info: a JSON body {"ticket": "…"},
// signed by the app (SPEC §6 signed request, X-App-Id the app's code). The
// answer, success or refusal, is signed by the platform key in the same
// format with METHOD "RESPONSE" and NONCE the request's X-Nonce (echoed in
// the answer's X-Nonce), so the app can check it came from the platform in
// answer to this request.
func (s *Service) Handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var resp Response
		status := http.StatusOK
		if r.Method != http.MethodPost {
			status, resp = http.StatusMethodNotAllowed, Response{Result: "false", Code: CodeBadRequest, Message: "请用 POST 请求。"}
		} else if v, key, err := s.exchange(r); err != nil {
			var e *exchangeError
			if !errors.As(err, &e) {
				log.ErrorContext(r.Context(), "ticket exchange failed", "err", err)
				e = refuse(http.StatusInternalServerError, CodeInternal, "服务器内部错误，请稍后再试。")
			}
			status, resp = e.status, Response{Result: "false", Code: e.code, Message: e.message}
		} else {
			resp = Response{Result: "true", KeyVersion: key, Data: v}
		}
		s.Answer(w, r, ExchangePath, status, resp)
	})
}

// Answer writes the answer to an app's request, signed by the platform key
// (SPEC §6 format, METHOD "RESPONSE", PATH the endpoint's, NONCE the
// request's X-Nonce, echoed). The answer is bound to its request: a
// recorded answer does not pass for another request's.
func (s *Service) Answer(w http.ResponseWriter, r *http.Request, path string, status int, v any) {
	body, _ := json.Marshal(v)
	if k, err := s.platform.Current(r.Context()); err == nil {
		ts, nonce := time.Now().UnixMilli(), r.Header.Get(signedreq.HeaderNonce)
		if len(nonce) > 128 {
			nonce = nonce[:128]
		}
		if sig, err := k.Sign(signedreq.StringToSign("RESPONSE", path, ts, nonce, body)); err == nil {
			w.Header().Set(signedreq.HeaderKeyID, k.ID)
			w.Header().Set(signedreq.HeaderTimestamp, strconv.FormatInt(ts, 10))
			w.Header().Set(signedreq.HeaderNonce, nonce)
			w.Header().Set(signedreq.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Refusal is an app request refused: its HTTP status, code and Chinese
// message, for the answer.
type Refusal struct {
	Status        int
	Code, Message string
}

// AsRefusal reads a refusal from an error of Authenticate or the exchange;
// ok is false for an internal error.
func AsRefusal(err error) (Refusal, bool) {
	var e *exchangeError
	if !errors.As(err, &e) {
		return Refusal{}, false
	}
	return Refusal{e.status, e.code, e.message}, true
}

// Authenticate checks an app's signed request to a platform endpoint other
// than the exchange: the app (X-App-Id) with its registered key, the
// signature and timestamp, the app online; and spends the nonce. It
// returns the app and the body (at most maxBody bytes).
func (s *Service) Authenticate(r *http.Request, maxBody int64) (*models.App, []byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || int64(len(body)) > maxBody {
		return nil, nil, refuse(http.StatusBadRequest, CodeBadRequest, "请求体过大或不完整。")
	}
	app, _, err := s.checkApp(r, body)
	if err != nil {
		return nil, nil, err
	}
	if app.Status != "ONLINE" {
		return nil, nil, refuse(http.StatusForbidden, CodeAppOffline, "应用未上线。")
	}
	err = s.db.WithContext(r.Context()).Create(&models.ExchangeNonce{AppID: app.ID, Nonce: r.Header.Get(signedreq.HeaderNonce), At: s.now()}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, nil, refuse(http.StatusUnauthorized, CodeNonceReused, "随机串已经用过，请为每个请求生成新的随机串。")
	} else if err != nil {
		return nil, nil, err
	}
	return app, body, nil
}

// checkApp finds the app of a signed request and checks its signature.
func (s *Service) checkApp(r *http.Request, body []byte) (*models.App, *models.AppCredential, error) {
	ctx := r.Context()
	code := r.Header.Get(signedreq.HeaderAppID)
	if code == "" || len(code) > 64 {
		return nil, nil, refuse(http.StatusUnauthorized, CodeUnknownApp, "缺少 X-App-Id 或应用代码不正确。")
	}
	if r.Header.Get(signedreq.HeaderTimestamp) == "" {
		return nil, nil, refuse(http.StatusUnauthorized, CodeTimestamp, "请求时间戳缺失或与平台时间相差超过300秒。")
	}
	if r.Header.Get(signedreq.HeaderNonce) == "" {
		return nil, nil, refuse(http.StatusUnauthorized, CodeNonce, "随机串（X-Nonce）应为16到128个字符。")
	}
	unknown := refuse(http.StatusUnauthorized, CodeUnknownApp, "没有这个应用，或它还没有登记公钥。")
	var app models.App
	if err := s.db.WithContext(ctx).Where("code = ?", code).Take(&app).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, unknown
	} else if err != nil {
		return nil, nil, err
	}
	cred, err := s.Credentials(ctx, app.ID)
	if err != nil {
		return nil, nil, err
	}
	if cred == nil {
		return nil, nil, unknown
	}
	pub, err := gm.ParseSM2PublicKeyHex(cred.PublicKeyHex)
	if err != nil {
		return nil, nil, err
	}
	switch err := signedreq.Check(r, body, pub, s.now()); {
	case errors.Is(err, signedreq.ErrTimestamp):
		return nil, nil, refuse(http.StatusUnauthorized, CodeTimestamp, "请求时间戳缺失或与平台时间相差超过300秒。")
	case errors.Is(err, signedreq.ErrNonce):
		return nil, nil, refuse(http.StatusUnauthorized, CodeNonce, "随机串（X-Nonce）应为16到128个字符。")
	case err != nil:
		return nil, nil, refuse(http.StatusUnauthorized, CodeSignature, "签名缺失或验签失败。")
	}
	return &app, cred, nil
}

// maxExchangeBody bounds the request body.
const maxExchangeBody = 4 << 10

// exchange checks a request and returns the sealed user information.
func (s *Service) exchange(r *http.Request) (string, int, error) {
	ctx := r.Context()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxExchangeBody+1))
	if err != nil || len(body) > maxExchangeBody {
		return "", 0, refuse(http.StatusBadRequest, CodeBadRequest, "请求体过大或不完整。")
	}
	app, cred, err := s.checkApp(r, body)
	if err != nil {
		return "", 0, err
	}
	if app.Status != "ONLINE" || app.Kind != "IDENTITY" {
		return "", 0, refuse(http.StatusForbidden, CodeAppOffline, "应用未上线，或不是需身份认证的应用。")
	}
	var in struct {
		Ticket string `json:"ticket"`
	}
	if json.Unmarshal(body, &in) != nil || in.Ticket == "" || len(in.Ticket) > 128 {
		return "", 0, refuse(http.StatusBadRequest, CodeBadRequest, `请求体应为 {"ticket": "…"}。`)
	}
	if cred.DataKey == "" {
		return "", 0, refuse(http.StatusConflict, CodeNoDataKey, "应用还没有领取数据密钥。")
	}
	now := s.now()
	var ticket models.AppTicket
	var consent models.AppConsent
	// The nonce and the ticket are spent together, or neither is.
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Create(&models.ExchangeNonce{AppID: app.ID, Nonce: r.Header.Get(signedreq.HeaderNonce), At: now}).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return refuse(http.StatusUnauthorized, CodeNonceReused, "随机串已经用过，请为每个请求生成新的随机串。")
		} else if err != nil {
			return err
		}
		if err := tx.Where("hash = ?", gm.SM3Hex([]byte(in.Ticket))).Take(&ticket).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return refuse(http.StatusBadRequest, CodeTicketInvalid, "票据无效。")
		} else if err != nil {
			return err
		}
		switch {
		case ticket.AppID != app.ID:
			return refuse(http.StatusForbidden, CodeTicketForeign, "票据不是发给这个应用的。")
		case ticket.UsedAt != nil:
			return refuse(http.StatusConflict, CodeTicketUsed, "票据已经使用过，每张票据只能换取一次。")
		case !now.Before(ticket.ExpiresAt):
			return refuse(http.StatusBadRequest, CodeTicketExpired, "票据已过期（有效期5分钟），请重新获取。")
		}
		// The consent is checked before the ticket is spent.
		if err := tx.Where("user_id = ? AND app_id = ?", ticket.UserID, app.ID).Take(&consent).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return err
		}
		switch {
		case consent.ID == 0 || consent.RevokedAt != nil:
			return refuse(http.StatusForbidden, CodeRevoked, "用户已撤销对这个应用的授权。")
		case !consentCovers(&consent, cred.Fields):
			return refuse(http.StatusForbidden, CodeConsentChanged, "应用申请的用户信息已变化，须用户重新授权。")
		}
		res := tx.Model(&models.AppTicket{}).Where("id = ? AND used_at IS NULL", ticket.ID).Update("used_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return refuse(http.StatusConflict, CodeTicketUsed, "票据已经使用过，每张票据只能换取一次。")
		}
		return nil
	})
	if err != nil {
		if e := (*exchangeError)(nil); errors.As(err, &e) && e.code != CodeNonceReused {
			// A refused ticket leaves the nonce spent: the request was seen.
			_ = s.db.WithContext(context.WithoutCancel(ctx)).Create(&models.ExchangeNonce{AppID: app.ID, Nonce: r.Header.Get(signedreq.HeaderNonce), At: now}).Error
		}
		return "", 0, err
	}
	info, err := s.userInfo(ctx, ticket.UserID, app.ID, cred.Fields)
	if err != nil {
		return "", 0, err
	}
	keyHex, err := s.keys.OpenString(cred.DataKey, dataKeyContext(app.ID))
	if err != nil {
		return "", 0, err
	}
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		return "", 0, err
	}
	sealed, err := gm.SealGCM(key, info, nil)
	if err != nil {
		return "", 0, err
	}
	return base64.StdEncoding.EncodeToString(sealed), cred.DataKeyVersion, nil
}

// userInfo is the JSON of the fields a user authorized, with the openId.
func (s *Service) userInfo(ctx context.Context, userID, appID uint64, fields []string) ([]byte, error) {
	var u models.User
	if err := s.db.WithContext(ctx).Take(&u, userID).Error; err != nil {
		return nil, err
	}
	p, err := s.identity.Profile(&u)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"openId": s.keys.BlindIndex("OPENID", strconv.FormatUint(appID, 10)+":"+strconv.FormatUint(userID, 10))}
	for _, f := range fields {
		switch f {
		case "name":
			out[f] = p.RealName
		case "idNumber":
			out[f] = p.IDNumber
		case "phone":
			out[f] = p.Phone
		case "userType":
			out[f] = string(p.UserType)
		case "creditCode":
			if p.CreditCode != nil {
				out[f] = *p.CreditCode
			}
		case "organizationName":
			if p.OrganizationName != nil {
				out[f] = *p.OrganizationName
			}
		case "licenses":
			if s.Licenses == nil {
				out[f] = []any{}
				continue
			}
			list, err := s.Licenses(ctx, userID)
			if err != nil {
				return nil, err
			}
			out[f] = list
		}
	}
	return json.Marshal(out)
}
