// Package sandbox is a payment channel for development and tests: a real
// HTTP server speaking the GOVPAY1 protocol of payment/README.md, with a
// payment page, signed notifications (resent until acknowledged), signed
// query and refund answers, and daily statements. It keeps its state in
// memory and moves no money; it must never be pointed at by a production
// platform.
package sandbox

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"govmobile/gm"
	"govmobile/payment"
	"govmobile/signedreq"
)

// AppID is what the sandbox puts in X-App-Id when it signs notifications.
const AppID = "GOVPAY-SANDBOX"

// Config configures a sandbox channel.
type Config struct {
	// MerchantID is the one merchant (platform) the sandbox serves.
	MerchantID string
	// PlatformKeys returns the public keys that may verify a platform
	// request carrying X-Key-Id keyID (none: unknown).
	PlatformKeys func(ctx context.Context, keyID string) ([]*ecdsa.PublicKey, error)
	// Key is the channel's own signing key.
	Key *sm2.PrivateKey
	// PublicURL is the sandbox's address as payers reach it (for payUrl).
	PublicURL string
	// Client delivers notifications.
	Client *http.Client
	// Retries is how often a notification is resent (default 5), Backoff
	// the first pause between tries (default 1 s, doubling).
	Retries int
	Backoff time.Duration
	Logger  *slog.Logger
}

type order struct {
	Number    string
	AmountFen int64
	Subject   string
	NotifyURL string
	ExpiresAt time.Time
	Status    string
	TradeNo   string
	PaidAt    time.Time
	Refunded  int64
}

type movement struct {
	Type      string
	Ref       string
	Order     string
	AmountFen int64
	At        time.Time
}

// Server is a sandbox channel.
type Server struct {
	cfg Config

	mu        sync.Mutex
	orders    map[string]*order
	refunds   map[string]*payment.RefundResult
	movements []movement
	nonces    map[string]time.Time
	// Extra statement lines (tests: a payment the platform never heard of).
	extra []movement
	// refundMode, when set, is the status new refunds are answered with
	// instead of being paid (tests).
	refundMode string
	// refundOrders remembers each refund's order and amount.
	refundOrders map[string]movement
	now          func() time.Time
}

// New returns a sandbox channel.
func New(cfg Config) *Server {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Retries == 0 {
		cfg.Retries = 5
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Server{cfg: cfg, orders: map[string]*order{}, refunds: map[string]*payment.RefundResult{},
		nonces: map[string]time.Time{}, refundOrders: map[string]movement{}, now: func() time.Time { return time.Now().UTC() }}
}

// SetClock replaces the clock (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// PublicKey is the key that verifies what the sandbox signs.
func (s *Server) PublicKey() *ecdsa.PublicKey { return &s.cfg.Key.PublicKey }

// Handler serves the protocol and the payment page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/payments", s.platform(s.start))
	mux.HandleFunc("GET /v1/payments/{number}", s.platform(s.query))
	mux.HandleFunc("POST /v1/payments/{number}/close", s.platform(s.close))
	mux.HandleFunc("POST /v1/refunds", s.platform(s.refund))
	mux.HandleFunc("GET /v1/refunds/{number}", s.platform(s.refundStatus))
	mux.HandleFunc("GET /v1/statements/{day}", s.platform(s.statement))
	mux.HandleFunc("GET /pay/{number}", s.page)
	mux.HandleFunc("POST /pay/{number}", s.payForm)
	return mux
}

// platform checks a request's platform signature and nonce, then serves it.
func (s *Server) platform(h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		pubs, err := s.cfg.PlatformKeys(r.Context(), r.Header.Get(signedreq.HeaderKeyID))
		if err != nil || len(pubs) == 0 || r.Header.Get(signedreq.HeaderAppID) != s.cfg.MerchantID {
			http.Error(w, "unknown merchant or key", http.StatusUnauthorized)
			return
		}
		verified := false
		for _, pub := range pubs {
			if signedreq.Check(r, body, pub, s.now()) == nil {
				verified = true
				break
			}
		}
		if !verified {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		nonce := r.Header.Get(signedreq.HeaderNonce)
		s.mu.Lock()
		_, replay := s.nonces[nonce]
		now := s.now()
		for n, at := range s.nonces {
			if now.Sub(at) > 2*signedreq.MaxSkew {
				delete(s.nonces, n)
			}
		}
		s.nonces[nonce] = now
		s.mu.Unlock()
		if replay {
			http.Error(w, "replayed nonce", http.StatusUnauthorized)
			return
		}
		h(w, r, body)
	}
}

// signed writes an answer signed with the channel key, bound to the
// request's nonce.
func (s *Server) signed(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	if err := payment.SignAnswer(w.Header(), r.URL.RequestURI(), r.Header.Get(signedreq.HeaderNonce), body, s.now(),
		func(m []byte) ([]byte, error) { return gm.SM2Sign(s.cfg.Key, m) }); err != nil {
		http.Error(w, "sign failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// signedJSON writes v as a signed JSON answer.
func (s *Server) signedJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, _ := json.Marshal(v)
	s.signed(w, r, status, "application/json", b)
}

// signedError writes a signed error answer.
func (s *Server) signedError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	s.signedJSON(w, r, status, map[string]string{"code": "FAIL", "message": msg})
}

func (s *Server) start(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		MerchantID string `json:"merchantId"`
		payment.StartRequest
	}
	if err := json.Unmarshal(body, &in); err != nil || in.OrderNumber == "" || in.AmountFen < 1 || in.NotifyURL == "" {
		s.signedError(w, r, http.StatusBadRequest, "bad payment request")
		return
	}
	s.mu.Lock()
	o, ok := s.orders[in.OrderNumber]
	if !ok {
		o = &order{Number: in.OrderNumber, AmountFen: in.AmountFen, Subject: in.Subject, NotifyURL: in.NotifyURL, ExpiresAt: in.ExpiresAt, Status: payment.ChannelUnpaid}
		s.orders[in.OrderNumber] = o
	} else if o.AmountFen != in.AmountFen || o.Status == payment.ChannelClosed {
		s.mu.Unlock()
		s.signedError(w, r, http.StatusConflict, "order number reused with another amount, or closed")
		return
	}
	s.mu.Unlock()
	u := strings.TrimRight(s.cfg.PublicURL, "/") + "/pay/" + in.OrderNumber
	s.signedJSON(w, r, http.StatusOK, payment.Start{PayURL: u, QRCode: u})
}

func (s *Server) close(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("number")]
	var out payment.ChannelPayment
	status := http.StatusOK
	if ok {
		if o.Status == payment.ChannelUnpaid {
			o.Status = payment.ChannelClosed
		}
		out = s.view(o)
		if o.Status == payment.ChannelSuccess {
			status = http.StatusConflict
		}
	}
	s.mu.Unlock()
	if !ok {
		s.signedError(w, r, http.StatusNotFound, "no such order")
		return
	}
	s.signedJSON(w, r, status, out)
}

func (s *Server) view(o *order) payment.ChannelPayment {
	out := payment.ChannelPayment{OrderNumber: o.Number, Status: o.Status, TradeNo: o.TradeNo, AmountFen: o.AmountFen}
	if o.Status == payment.ChannelSuccess {
		at := o.PaidAt
		out.PaidAt = &at
	}
	return out
}

func (s *Server) query(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	o, ok := s.orders[r.PathValue("number")]
	var out payment.ChannelPayment
	if ok {
		out = s.view(o)
	}
	s.mu.Unlock()
	if !ok {
		s.signedError(w, r, http.StatusNotFound, "no such order")
		return
	}
	s.signedJSON(w, r, http.StatusOK, out)
}

func (s *Server) refund(w http.ResponseWriter, r *http.Request, body []byte) {
	var in payment.RefundRequest
	if err := json.Unmarshal(body, &in); err != nil || in.RefundNumber == "" || in.AmountFen < 1 {
		s.signedError(w, r, http.StatusBadRequest, "bad refund request")
		return
	}
	s.mu.Lock()
	res, done := s.refunds[in.RefundNumber]
	if !done {
		res = &payment.RefundResult{RefundNumber: in.RefundNumber, Status: "FAIL"}
		o, ok := s.orders[in.OrderNumber]
		switch {
		case !ok || o.Status != payment.ChannelSuccess:
			res.Message = "订单未支付"
		case o.Refunded+in.AmountFen > o.AmountFen:
			res.Message = "退款金额超过可退金额"
		case s.refundMode != "":
			res.Status = s.refundMode // tests: a channel that answers later
			s.refundOrders[in.RefundNumber] = movement{Order: o.Number, AmountFen: in.AmountFen}
		default:
			at := s.now().Truncate(time.Second)
			o.Refunded += in.AmountFen
			res.Status, res.ChannelRefundNo, res.RefundedAt = payment.ChannelSuccess, "CR"+digits(16), &at
			s.movements = append(s.movements, movement{Type: "REFUND", Ref: in.RefundNumber, Order: o.Number, AmountFen: in.AmountFen, At: at})
		}
		s.refunds[in.RefundNumber] = res
	}
	out := *res
	s.mu.Unlock()
	s.signedJSON(w, r, http.StatusOK, out)
}

func (s *Server) refundStatus(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	res, ok := s.refunds[r.PathValue("number")]
	var out payment.RefundResult
	if ok {
		out = *res
	}
	s.mu.Unlock()
	if !ok {
		s.signedError(w, r, http.StatusNotFound, "no such refund")
		return
	}
	s.signedJSON(w, r, http.StatusOK, out)
}

// HoldRefunds makes the sandbox answer new refunds with status (e.g.
// PROCESSING) instead of paying them; CompleteRefund pays one later.
// Tests use them for a channel that refunds asynchronously.
func (s *Server) HoldRefunds(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refundMode = status
}

// CompleteRefund pays a held refund now.
func (s *Server) CompleteRefund(refundNumber string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, held := s.refunds[refundNumber]
	m, known := s.refundOrders[refundNumber]
	if !held || !known || res.Status == payment.ChannelSuccess || res.Status == payment.ChannelFail {
		return fmt.Errorf("no held refund %s", refundNumber)
	}
	o := s.orders[m.Order]
	if o.Refunded+m.AmountFen > o.AmountFen {
		res.Status, res.Message = payment.ChannelFail, "退款金额超过可退金额"
		return nil
	}
	at := s.now().Truncate(time.Second)
	o.Refunded += m.AmountFen
	res.Status, res.ChannelRefundNo, res.RefundedAt = payment.ChannelSuccess, "CR"+digits(16), &at
	s.movements = append(s.movements, movement{Type: "REFUND", Ref: refundNumber, Order: o.Number, AmountFen: m.AmountFen, At: at})
	return nil
}

func (s *Server) statement(w http.ResponseWriter, r *http.Request, _ []byte) {
	day, err := time.ParseInLocation("2006-01-02", r.PathValue("day"), payment.ChinaTime)
	if err != nil {
		s.signedError(w, r, http.StatusBadRequest, "bad day")
		return
	}
	s.signed(w, r, http.StatusOK, "text/csv; charset=utf-8", s.Statement(day))
}

// Statement is the CSV statement of a China day starting at day.
func (s *Server) Statement(day time.Time) []byte {
	end := day.AddDate(0, 0, 1)
	s.mu.Lock()
	var lines []movement
	for _, m := range append(append([]movement(nil), s.movements...), s.extra...) {
		if !m.At.Before(day) && m.At.Before(end) {
			lines = append(lines, m)
		}
	}
	s.mu.Unlock()
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].At.Before(lines[j].At) })
	var buf bytes.Buffer
	buf.WriteString(payment.StatementHeader + "\n")
	cw := csv.NewWriter(&buf)
	for _, m := range lines {
		_ = cw.Write([]string{m.Type, m.Ref, m.Order, strconv.FormatInt(m.AmountFen, 10), m.At.Format(time.RFC3339)})
	}
	cw.Flush()
	return buf.Bytes()
}

// AddStatementLine puts a line on the statements that no payment made
// (tests: money the platform has no record of).
func (s *Server) AddStatementLine(typ, ref, orderNumber string, amountFen int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.extra = append(s.extra, movement{Type: typ, Ref: ref, Order: orderNumber, AmountFen: amountFen, At: at})
}

// DropStatementLine removes a real movement from the statements (tests: a
// payment the channel lost).
func (s *Server) DropStatementLine(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.movements = slicesDelete(s.movements, func(m movement) bool { return m.Ref == ref })
}

func slicesDelete(ms []movement, drop func(movement) bool) []movement {
	out := ms[:0]
	for _, m := range ms {
		if !drop(m) {
			out = append(out, m)
		}
	}
	return out
}

var pageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>沙箱支付</title></head><body>
<h1>沙箱支付（测试环境，不产生真实扣款）</h1>
{{if .Order}}<p>订单号：{{.Order.Number}}</p><p>{{.Order.Subject}}</p><p>金额：{{.Yuan}} 元</p>
{{if eq .Order.Status "UNPAID"}}<form method="post"><button type="submit">确认支付</button></form>
{{else}}<p>状态：{{.Order.Status}}</p>{{end}}{{else}}<p>订单不存在。</p>{{end}}
</body></html>`))

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var view struct {
		Order *order
		Yuan  string
	}
	if o, ok := s.orders[r.PathValue("number")]; ok {
		c := *o
		view.Order, view.Yuan = &c, payment.Yuan(o.AmountFen)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTmpl.Execute(w, view)
}

func (s *Server) payForm(w http.ResponseWriter, r *http.Request) {
	n, err := s.MarkPaid(r.PathValue("number"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	go s.deliver(context.WithoutCancel(r.Context()), n)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><p>支付成功，请返回应用查看缴费结果。</p>`)
}

// Pay pays an order as a payer would and delivers the notification now,
// returning the platform's HTTP status (tests).
func (s *Server) Pay(ctx context.Context, number string) (*payment.Notification, int, error) {
	n, err := s.MarkPaid(number)
	if err != nil {
		return nil, 0, err
	}
	status, err := s.Send(ctx, s.NotifyURL(n.OrderNumber), n)
	return n, status, err
}

// MarkPaid pays an order as a payer would, without notifying the platform
// (tests: a notification that is lost; the platform learns by asking).
func (s *Server) MarkPaid(number string) (*payment.Notification, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[number]
	switch {
	case !ok:
		return nil, fmt.Errorf("订单不存在")
	case o.Status != payment.ChannelUnpaid:
		return nil, fmt.Errorf("订单已支付或已关闭")
	case !o.ExpiresAt.IsZero() && s.now().After(o.ExpiresAt):
		return nil, fmt.Errorf("订单已过期")
	}
	o.Status, o.TradeNo, o.PaidAt = payment.ChannelSuccess, "T"+digits(20), s.now().Truncate(time.Second)
	s.movements = append(s.movements, movement{Type: "PAY", Ref: o.TradeNo, Order: o.Number, AmountFen: o.AmountFen, At: o.PaidAt})
	return &payment.Notification{NotifyID: "N" + digits(20), MerchantID: s.cfg.MerchantID, OrderNumber: o.Number, TradeNo: o.TradeNo,
		AmountFen: o.AmountFen, Status: payment.ChannelSuccess, PaidAt: o.PaidAt}, nil
}

// NotifyURL is where an order's notifications go.
func (s *Server) NotifyURL(number string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[number]; ok {
		return o.NotifyURL
	}
	return ""
}

// deliver sends a notification until the platform acknowledges it.
func (s *Server) deliver(ctx context.Context, n *payment.Notification) {
	pause := s.cfg.Backoff
	for try := 0; try <= s.cfg.Retries; try++ {
		status, err := s.Send(ctx, s.NotifyURL(n.OrderNumber), n)
		if err == nil && status == http.StatusOK {
			return
		}
		s.cfg.Logger.Warn("sandbox notification not acknowledged", "order", n.OrderNumber, "status", status, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// Send signs and posts one notification to url and returns the HTTP
// status the platform answered.
func (s *Server) Send(ctx context.Context, url string, n *payment.Notification) (int, error) {
	body, _ := json.Marshal(n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if err := signedreq.Sign(req, body, AppID, "", s.now(), func(m []byte) ([]byte, error) { return gm.SM2Sign(s.cfg.Key, m) }); err != nil {
		return 0, err
	}
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, nil
}

func digits(n int) string {
	var b strings.Builder
	for range n {
		d, _ := rand.Int(rand.Reader, big.NewInt(10))
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}
