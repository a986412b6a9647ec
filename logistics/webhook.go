package logistics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/logistics/carrier"
	"govmobile/models"
)

// WebhookPath is where the app mounts WebhookHandler, and the URL path the
// carrier is configured to call.
const WebhookPath = "/logistics/webhook"

// MaxWebhookBody bounds a webhook's body; a tracking event is well under
// 1 KiB.
const MaxWebhookBody = 16 << 10

// Outcome is what became of a webhook that was accepted.
type Outcome string

// The outcomes; all are answered 200, so the carrier stops resending.
const (
	Applied   Outcome = "APPLIED"   // moved the shipment's status
	Recorded  Outcome = "RECORDED"  // kept in the history only: older than, or the same as, the current status
	Duplicate Outcome = "DUPLICATE" // an event already received: nothing changed
)

// Reasons a webhook is rejected (models.CarrierWebhookRejection.Reason).
const (
	RejectBadSignature   = "BAD_SIGNATURE"
	RejectStaleTimestamp = "STALE_TIMESTAMP"
	RejectTooLarge       = "TOO_LARGE"
	RejectMalformed      = "MALFORMED"
	RejectUnknownWaybill = "UNKNOWN_WAYBILL"
)

// Bounds of what is kept of an event and of a rejected webhook.
const (
	maxDescription = 200 // characters
	maxLocation    = 100 // characters
	excerptBytes   = 1024
	// rejectionsPerMinute bounds the rows rejected webhooks add: beyond
	// it they are logged only.
	rejectionsPerMinute = 120
	// pruneBatch is how many rejections PruneRejections deletes at a time.
	pruneBatch = 500
)

// UnknownWaybillGrace is how recent an event of an unknown waybill must be
// to be answered 503 (resend) rather than 404: the carrier may report a
// waybill before the platform's Create has committed its shipment.
const UnknownWaybillGrace = 10 * time.Minute

// RetryAfter is the Retry-After (seconds) of a 503 for an event that came
// too early.
const RetryAfter = 30

var (
	errSignature      = models.Errorf(models.ECodeUnauthenticated, "签名无效。")
	errStale          = models.Errorf(models.ECodeUnauthenticated, "时间戳超出允许范围。")
	errTooLarge       = models.Errorf(models.ECodeBadUserInput, "通知内容过大。")
	errMalformed      = models.Errorf(models.ECodeBadUserInput, "通知内容格式不正确。")
	errUnknownWaybill = models.Errorf(models.ECodeNotFound, "没有这个运单号。")
	errTooEarly       = models.Errorf(models.ECodeUnavailable, "暂未找到这个运单号（可能尚在登记），请稍后重发。")
)

// HandleWebhook receives one tracking event from the carrier: headers and
// body as received (body at most MaxWebhookBody+1 bytes, the caller's cap),
// and the peer's address for the record. It verifies the HMAC-SM3 signature
// and the timestamp window, then applies the event once, in one
// transaction: a duplicate event ID changes nothing; an event older than
// the current status enters the history without moving the status (see
// Moves). A refused webhook is recorded for operators and answered with an
// error: UNAUTHENTICATED (signature, timestamp), BAD_USER_INPUT (too
// large, malformed) or NOT_FOUND (unknown waybill); an unknown waybill's
// event that happened within UnknownWaybillGrace is UNAVAILABLE instead
// (recorded too): its shipment may not be committed yet, and the carrier
// should send it again. Any other error is the platform's, and the
// carrier should send the event again.
func (s *Service) HandleWebhook(ctx context.Context, h http.Header, body []byte, remote string) (Outcome, error) {
	if len(body) > MaxWebhookBody {
		s.reject(ctx, RejectTooLarge, "body over the limit", nil, body, remote)
		return "", errTooLarge
	}
	if err := carrier.VerifyWebhook(h, body, s.cfg.WebhookSecret, s.now()); err != nil {
		if errors.Is(err, carrier.ErrTimestamp) {
			s.reject(ctx, RejectStaleTimestamp, "timestamp outside ±300 s", nil, body, remote)
			return "", errStale
		}
		s.reject(ctx, RejectBadSignature, err.Error(), nil, body, remote)
		return "", errSignature
	}
	ev, detail := parseEvent(body)
	if detail != "" {
		s.reject(ctx, RejectMalformed, detail, ev, body, remote)
		return "", errMalformed
	}
	return s.apply(ctx, ev, body, remote)
}

// parseEvent reads and bounds an authenticated event; detail says what is
// wrong with it.
func parseEvent(body []byte) (*carrier.Event, string) {
	var ev carrier.Event
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ev); err != nil {
		return nil, "not a JSON event"
	}
	if dec.More() {
		return nil, "data after the event"
	}
	switch {
	case !token(ev.EventID, 64):
		return &ev, "eventId missing or not 1-64 printable characters"
	case !token(ev.WaybillNo, 64):
		return &ev, "waybillNo missing or not 1-64 printable characters"
	case !Status(ev.Status).Valid():
		return &ev, "unknown status"
	case ev.OccurredAt.IsZero():
		return &ev, "occurredAt missing"
	}
	ev.Description = clip(ev.Description, maxDescription)
	ev.Location = clip(ev.Location, maxLocation)
	// Stored to the millisecond (MySQL DATETIME(3)), so that an event read
	// back compares as it did when it was applied.
	ev.OccurredAt = ev.OccurredAt.UTC().Truncate(time.Millisecond)
	return &ev, ""
}

// apply applies an authenticated event.
func (s *Service) apply(ctx context.Context, ev *carrier.Event, body []byte, remote string) (Outcome, error) {
	eventID := ev.EventID
	var seen int64
	if err := s.db.WithContext(ctx).Model(&models.ShipmentEvent{}).Where("carrier = ? AND carrier_event_id = ?", s.cfg.CarrierName, eventID).Count(&seen).Error; err != nil {
		return "", err
	}
	if seen > 0 {
		return Duplicate, nil
	}
	desc, err := s.keys.SealString(ev.Description, eventContext(s.cfg.CarrierName, eventID))
	if err != nil {
		return "", err
	}
	var outcome Outcome
	var moved *models.Shipment
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		outcome, moved = "", nil
		// The row lock orders concurrent events of one waybill (SQLite
		// transactions take the write lock as they begin).
		var sh models.Shipment
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("carrier = ? AND waybill_no = ?", s.cfg.CarrierName, ev.WaybillNo).Take(&sh).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errUnknownWaybill
		}
		if err != nil {
			return err
		}
		now := s.now().Truncate(time.Millisecond)
		to := Status(ev.Status)
		moves := Moves(Status(sh.Status), Status(sh.Stage), sh.StatusAt, to, ev.OccurredAt)
		if err := tx.Create(&models.ShipmentEvent{ShipmentID: sh.ID, Carrier: s.cfg.CarrierName, CarrierEventID: eventID, Status: ev.Status,
			DescriptionEnc: desc, Location: ev.Location, OccurredAt: ev.OccurredAt, ReceivedAt: now, Applied: moves}).Error; err != nil {
			return err
		}
		if !moves {
			outcome = Recorded
			return nil
		}
		cols := map[string]any{"status": string(to), "status_at": ev.OccurredAt, "updated_at": now}
		if _, onRoute := stage[to]; onRoute {
			cols["stage"] = string(to)
			sh.Stage = string(to)
		}
		if to.Final() {
			// 8.3.2 e: an ended shipment frees its case and direction
			// for a new one (further supplements, a second mailing).
			cols["active_key"] = nil
			sh.ActiveKey = nil
		}
		res := tx.Model(&models.Shipment{}).Where("id = ? AND status = ?", sh.ID, sh.Status).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errors.New("logistics: shipment changed under its row lock")
		}
		sh.Status, sh.StatusAt, sh.UpdatedAt = string(to), ev.OccurredAt, now
		outcome, moved = Applied, &sh
		return nil
	})
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		// The same event, received twice at once: the other one applied it.
		return Duplicate, nil
	case errors.Is(err, errUnknownWaybill):
		if s.tooEarly(ev.OccurredAt) {
			s.reject(ctx, RejectUnknownWaybill, "no shipment has this waybill yet (recent event: asked to resend)", ev, body, remote)
			return "", errTooEarly
		}
		s.reject(ctx, RejectUnknownWaybill, "no shipment has this waybill", ev, body, remote)
		return "", err
	case err != nil:
		return "", err
	}
	if moved != nil {
		s.notify(ctx, moved)
	}
	return outcome, nil
}

// tooEarly reports whether an event of an unknown waybill is recent
// enough that its shipment may still be on its way into the database: it
// happened within UnknownWaybillGrace (or up to the allowed clock skew
// ahead).
func (s *Service) tooEarly(occurredAt time.Time) bool {
	now := s.now()
	return !occurredAt.Before(now.Add(-UnknownWaybillGrace)) && !occurredAt.After(now.Add(carrier.MaxSkew))
}

// reject records a refused webhook, within the per-minute budget. ev is
// given only when the body was authenticated: only then are its IDs worth
// keeping.
func (s *Service) reject(ctx context.Context, reason, detail string, ev *carrier.Event, body []byte, remote string) {
	log := s.cfg.Logger.With("carrier", s.cfg.CarrierName, "reason", reason, "remote", remote, "bytes", len(body))
	if !s.rejectionBudget() {
		log.WarnContext(ctx, "carrier webhook rejected (not recorded: over the budget)")
		return
	}
	digest := gm.SM3Hex(body)
	rec := models.CarrierWebhookRejection{Carrier: s.cfg.CarrierName, Reason: reason, Detail: clip(detail, 200),
		RemoteAddr: clip(remote, 64), BodySize: len(body), BodySM3: digest, At: s.now()}
	if ev != nil {
		rec.EventID, rec.WaybillNo = printable(ev.EventID, 64), printable(ev.WaybillNo, 64)
	}
	// The excerpt is sealed: an unauthenticated body may hold anything,
	// personal data included.
	excerpt := body[:min(len(body), excerptBytes)]
	var err error
	if rec.ExcerptEnc, err = s.keys.SealString(string(excerpt), "carrier_webhook_rejection:"+digest); err == nil {
		err = s.db.WithContext(context.WithoutCancel(ctx)).Create(&rec).Error
	}
	if err != nil {
		log.ErrorContext(ctx, "could not record a rejected carrier webhook", "err", err)
		return
	}
	log.WarnContext(ctx, "carrier webhook rejected", "waybill", rec.WaybillNo, "event", rec.EventID)
}

func (s *Service) rejectionBudget() bool {
	s.rejMu.Lock()
	defer s.rejMu.Unlock()
	now := s.now()
	if now.Sub(s.rejWindow) >= time.Minute {
		s.rejWindow, s.rejCount = now, 0
	}
	s.rejCount++
	return s.rejCount <= rejectionsPerMinute
}

// OpenRejectionExcerpt opens a rejection's sealed excerpt for an operator
// (who must be authorised by the caller): the first bytes of the body.
func (s *Service) OpenRejectionExcerpt(r *models.CarrierWebhookRejection) (string, error) {
	return s.keys.OpenString(r.ExcerptEnc, "carrier_webhook_rejection:"+r.BodySM3)
}

// Rejections is a page of the carrier's rejected webhooks for operators,
// newest first.
func (s *Service) Rejections(ctx context.Context, first int, afterID uint64) ([]*models.CarrierWebhookRejection, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.CarrierWebhookRejection{}).Where("carrier = ?", s.cfg.CarrierName)
	return database.NewestFirst[models.CarrierWebhookRejection](q, first, afterID)
}

// PruneRejections deletes the carrier's rejected webhooks recorded before
// a time, for the app's periodic sweep, in batches (so that a flood's
// backlog never holds a long lock); it returns how many.
func (s *Service) PruneRejections(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var ids []uint64
		if err := s.db.WithContext(ctx).Model(&models.CarrierWebhookRejection{}).Where("carrier = ? AND at < ?", s.cfg.CarrierName, before).
			Order("id").Limit(pruneBatch).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
			return total, err
		}
		res := s.db.WithContext(ctx).Where("id IN ?", ids).Delete(&models.CarrierWebhookRejection{})
		if res.Error != nil {
			return total, res.Error
		}
		total += res.RowsAffected
		if len(ids) < pruneBatch {
			return total, nil
		}
	}
}

// WebhookHandler serves HandleWebhook over HTTP (mount it at WebhookPath):
// 200 {"result": outcome} for an accepted event, 401 for a bad signature or
// timestamp, 400 malformed, 413 too large, 404 unknown waybill (none of
// them worth resending), 503 when the platform failed or the waybill is
// unknown but the event recent (resend; the latter with Retry-After).
func (s *Service) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			answer(w, http.StatusMethodNotAllowed, map[string]string{"code": "METHOD_NOT_ALLOWED", "error": "只接受 POST。"})
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxWebhookBody+1))
		if err != nil {
			answer(w, http.StatusBadRequest, map[string]string{"code": "BAD_USER_INPUT", "error": "无法读取通知内容。"})
			return
		}
		outcome, err := s.HandleWebhook(r.Context(), r.Header, body, r.RemoteAddr)
		if err == nil {
			answer(w, http.StatusOK, map[string]string{"result": string(outcome)})
			return
		}
		if errors.Is(err, errTooEarly) {
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
			answer(w, http.StatusServiceUnavailable, map[string]string{"code": errTooEarly.Code, "error": errTooEarly.Message})
			return
		}
		var e *models.Error
		if !errors.As(err, &e) {
			s.cfg.Logger.ErrorContext(r.Context(), "carrier webhook failed", "carrier", s.cfg.CarrierName, "err", err)
			answer(w, http.StatusServiceUnavailable, map[string]string{"code": models.ECodeUnavailable, "error": "暂时无法处理，请稍后重发。"})
			return
		}
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, errTooLarge):
			status = http.StatusRequestEntityTooLarge
		case e.Code == models.ECodeUnauthenticated:
			status = http.StatusUnauthorized
		case e.Code == models.ECodeNotFound:
			status = http.StatusNotFound
		}
		answer(w, status, map[string]string{"code": e.Code, "error": e.Message})
	})
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// clip keeps at most max characters of s, dropping control characters and
// invalid UTF-8.
func clip(s string, max int) string {
	s = strings.ToValidUTF8(strings.TrimSpace(s), "")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

// printable keeps at most max bytes of printable ASCII of s.
func printable(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if s[i] > ' ' && s[i] <= '~' {
			b = append(b, s[i])
		}
	}
	return string(b)
}
