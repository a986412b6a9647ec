package payment

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"govmobile/gm"
	"govmobile/signedreq"
)

// Channel is a payment channel (支付渠道) as the platform needs it. Its
// one implementation, HTTPChannel, speaks the GOVPAY1 protocol of
// payment/README.md to a real server: the sandbox of payment/sandbox in
// development and tests, a provider's gateway in production.
type Channel interface {
	// Name is the channel's name, recorded on orders.
	Name() string
	// Start asks the channel for a payment of an order and returns where
	// the applicant pays: a page address and the content of a QR code.
	Start(ctx context.Context, req StartRequest) (*Start, error)
	// Query asks the channel how an order's payment stands.
	Query(ctx context.Context, orderNumber string) (*ChannelPayment, error)
	// Close asks the channel to stop taking payment for an order; when the
	// order was paid meanwhile, the answer says so.
	Close(ctx context.Context, orderNumber string) (*ChannelPayment, error)
	// Refund asks the channel to return money; the same refund number is
	// the same refund at the channel.
	Refund(ctx context.Context, req RefundRequest) (*RefundResult, error)
	// RefundStatus asks how a refund asked for earlier stands.
	RefundStatus(ctx context.Context, refundNumber string) (*RefundResult, error)
	// Statement downloads the channel's statement of a China day (CSV).
	Statement(ctx context.Context, day string) ([]byte, error)
	// Verify checks a notification's signature and reads it.
	Verify(r *http.Request, body []byte, now time.Time) (*Notification, error)
}

// StartRequest asks for a payment.
type StartRequest struct {
	OrderNumber string    `json:"orderNumber"`
	AmountFen   int64     `json:"amountFen"`
	Subject     string    `json:"subject"`
	NotifyURL   string    `json:"notifyUrl"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// Start is where an applicant pays.
type Start struct {
	PayURL string `json:"payUrl"`
	QRCode string `json:"qrCode"`
}

// ChannelPayment is the channel's view of an order's payment.
type ChannelPayment struct {
	OrderNumber string     `json:"orderNumber"`
	Status      string     `json:"status"` // UNPAID, SUCCESS, CLOSED
	TradeNo     string     `json:"tradeNo"`
	AmountFen   int64      `json:"amountFen"`
	PaidAt      *time.Time `json:"paidAt"`
}

// RefundRequest asks for a refund.
type RefundRequest struct {
	OrderNumber  string `json:"orderNumber"`
	RefundNumber string `json:"refundNumber"`
	AmountFen    int64  `json:"amountFen"`
	Reason       string `json:"reason"`
}

// RefundResult is the channel's answer to a refund.
type RefundResult struct {
	RefundNumber    string `json:"refundNumber"`
	ChannelRefundNo string `json:"channelRefundNo"`
	Status          string `json:"status"` // SUCCESS, FAIL, or PROCESSING (or unknown: still pending)
	Message         string `json:"message"`
	// RefundedAt is when the channel returned the money (SUCCESS).
	RefundedAt *time.Time `json:"refundedAt,omitempty"`
}

// Notification is the channel's asynchronous word that an order was paid.
type Notification struct {
	NotifyID    string    `json:"notifyId"`
	MerchantID  string    `json:"merchantId"`
	OrderNumber string    `json:"orderNumber"`
	TradeNo     string    `json:"tradeNo"`
	AmountFen   int64     `json:"amountFen"`
	Status      string    `json:"status"`
	PaidAt      time.Time `json:"paidAt"`
}

// Channel statuses of a payment and of a refund.
const (
	ChannelUnpaid  = "UNPAID"
	ChannelSuccess = "SUCCESS"
	ChannelClosed  = "CLOSED"
	ChannelFail    = "FAIL" // a refund the channel refused for good
)

// ErrChannel is the channel not answering, or answering nonsense: the
// caller tells the applicant to try again later.
var ErrChannel = errors.New("payment channel unavailable")

// Errors of Verify, each its own reason.
var (
	ErrForged        = errors.New("payment channel: signature does not verify")
	ErrUnreadable    = errors.New("payment channel: notification unreadable")
	ErrOtherMerchant = errors.New("payment channel: notification for another merchant")
)

// HTTPChannel is a Channel over HTTP. The platform signs its requests with
// its SM2 key (SPEC §6, X-App-Id is the merchant ID); the channel signs
// notifications the same way with its own key, and signs every answer over
// "RESPONSE\nPATH\nTIMESTAMP\nNONCE\nhex(SM3(body))" where NONCE is the
// request's, so an answer cannot be replayed to another request.
type HTTPChannel struct {
	// Label names the channel on orders (default GOVPAY).
	Label string
	// BaseURL is the channel's address, e.g. https://pay.example.cn.
	BaseURL    string
	MerchantID string
	// ChannelKey verifies what the channel signs.
	ChannelKey *ecdsa.PublicKey
	// Sign makes the platform's signature; KeyID names the platform key.
	Sign   func(ctx context.Context, msg []byte) (sig []byte, keyID string, err error)
	Client *http.Client
	Now    func() time.Time
}

// Name is the channel's label, GOVPAY by default.
func (c *HTTPChannel) Name() string {
	if c.Label != "" {
		return c.Label
	}
	return "GOVPAY"
}

func (c *HTTPChannel) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// MaxAnswer bounds what the platform reads from the channel: a statement
// of 100,000 lines is about 8 MB.
const MaxAnswer = 64 << 20

// call sends a signed request and returns the answer's body; answers that
// move money must carry the channel's signature.
func (c *HTTPChannel) call(ctx context.Context, method, path string, in any) ([]byte, int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, 0, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	var signErr error
	if err := signedreq.Sign(req, body, c.MerchantID, "", c.now(), func(msg []byte) ([]byte, error) {
		sig, keyID, err := c.Sign(ctx, msg)
		req.Header.Set(signedreq.HeaderKeyID, keyID)
		signErr = err
		return sig, err
	}); err != nil {
		return nil, 0, errors.Join(signErr, err)
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrChannel, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil || len(answer) > MaxAnswer {
		return nil, resp.StatusCode, fmt.Errorf("%w: answer unreadable or too large", ErrChannel)
	}
	if resp.StatusCode >= 500 {
		return nil, resp.StatusCode, fmt.Errorf("%w: status %d", ErrChannel, resp.StatusCode)
	}
	if err := CheckAnswer(resp.Header, req.URL.RequestURI(), req.Header.Get(signedreq.HeaderNonce), answer, c.ChannelKey, c.now()); err != nil {
		return nil, resp.StatusCode, err
	}
	return answer, resp.StatusCode, nil
}

// answerString is what a signed answer's signature covers.
func answerString(path string, ts int64, nonce string, body []byte) []byte {
	return signedreq.StringToSign("RESPONSE", path, ts, nonce, body)
}

// SignAnswer sets the signature headers of an answer to a request for
// path that carried nonce.
func SignAnswer(h http.Header, path, nonce string, body []byte, now time.Time, sign func([]byte) ([]byte, error)) error {
	ts := now.UnixMilli()
	sig, err := sign(answerString(path, ts, nonce, body))
	if err != nil {
		return err
	}
	h.Set(signedreq.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(signedreq.HeaderNonce, nonce)
	h.Set(signedreq.HeaderSignature, encodeSig(sig))
	return nil
}

// CheckAnswer verifies a signed answer to a request for path that carried
// nonce.
func CheckAnswer(h http.Header, path, nonce string, body []byte, pub *ecdsa.PublicKey, now time.Time) error {
	if h.Get(signedreq.HeaderNonce) != nonce {
		return ErrForged
	}
	ts, err := strconv.ParseInt(h.Get(signedreq.HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrForged
	}
	if d := now.Sub(time.UnixMilli(ts)); d > signedreq.MaxSkew || d < -signedreq.MaxSkew {
		return ErrForged
	}
	sig, ok := decodeSig(h.Get(signedreq.HeaderSignature))
	if !ok || !gm.SM2Verify(pub, answerString(path, ts, nonce, body), sig) {
		return ErrForged
	}
	return nil
}

// Start implements Channel.
func (c *HTTPChannel) Start(ctx context.Context, req StartRequest) (*Start, error) {
	in := struct {
		MerchantID string `json:"merchantId"`
		StartRequest
	}{c.MerchantID, req}
	answer, status, err := c.call(ctx, http.MethodPost, "/v1/payments", in)
	if err != nil {
		return nil, err
	}
	var out Start
	if status != http.StatusOK || json.Unmarshal(answer, &out) != nil || out.PayURL == "" {
		return nil, fmt.Errorf("%w: start answered %d", ErrChannel, status)
	}
	return &out, nil
}

// Query implements Channel.
func (c *HTTPChannel) Query(ctx context.Context, orderNumber string) (*ChannelPayment, error) {
	answer, status, err := c.call(ctx, http.MethodGet, "/v1/payments/"+url.PathEscape(orderNumber), nil)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return &ChannelPayment{OrderNumber: orderNumber, Status: ChannelUnpaid}, nil
	}
	var out ChannelPayment
	if status != http.StatusOK || json.Unmarshal(answer, &out) != nil || out.OrderNumber != orderNumber {
		return nil, fmt.Errorf("%w: query answered %d", ErrChannel, status)
	}
	return &out, nil
}

// Close implements Channel: 200 with the payment closed, 409 with it paid.
func (c *HTTPChannel) Close(ctx context.Context, orderNumber string) (*ChannelPayment, error) {
	answer, status, err := c.call(ctx, http.MethodPost, "/v1/payments/"+url.PathEscape(orderNumber)+"/close", struct{}{})
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		return &ChannelPayment{OrderNumber: orderNumber, Status: ChannelClosed}, nil
	}
	var out ChannelPayment
	if (status != http.StatusOK && status != http.StatusConflict) || json.Unmarshal(answer, &out) != nil || out.OrderNumber != orderNumber {
		return nil, fmt.Errorf("%w: close answered %d", ErrChannel, status)
	}
	return &out, nil
}

// RefundStatus implements Channel.
func (c *HTTPChannel) RefundStatus(ctx context.Context, refundNumber string) (*RefundResult, error) {
	answer, status, err := c.call(ctx, http.MethodGet, "/v1/refunds/"+url.PathEscape(refundNumber), nil)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound {
		// The channel never received the refund: it may be asked again.
		return &RefundResult{RefundNumber: refundNumber, Status: "NOT_FOUND"}, nil
	}
	var out RefundResult
	if status != http.StatusOK || json.Unmarshal(answer, &out) != nil || out.RefundNumber != refundNumber {
		return nil, fmt.Errorf("%w: refund status answered %d", ErrChannel, status)
	}
	return &out, nil
}

// Refund implements Channel.
func (c *HTTPChannel) Refund(ctx context.Context, req RefundRequest) (*RefundResult, error) {
	in := struct {
		MerchantID string `json:"merchantId"`
		RefundRequest
	}{c.MerchantID, req}
	answer, status, err := c.call(ctx, http.MethodPost, "/v1/refunds", in)
	if err != nil {
		return nil, err
	}
	var out RefundResult
	if status != http.StatusOK || json.Unmarshal(answer, &out) != nil || out.RefundNumber != req.RefundNumber {
		return nil, fmt.Errorf("%w: refund answered %d", ErrChannel, status)
	}
	return &out, nil
}

// Statement implements Channel.
func (c *HTTPChannel) Statement(ctx context.Context, day string) ([]byte, error) {
	answer, status, err := c.call(ctx, http.MethodGet, "/v1/statements/"+url.PathEscape(day), nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%w: statement answered %d", ErrChannel, status)
	}
	return answer, nil
}

// Verify implements Channel: the notification must be signed by the
// channel's key within the time window and name this merchant.
func (c *HTTPChannel) Verify(r *http.Request, body []byte, now time.Time) (*Notification, error) {
	if err := signedreq.Check(r, body, c.ChannelKey, now); err != nil {
		return nil, ErrForged
	}
	// Fields a provider adds later are ignored: refusing them would stop
	// every payment being applied.
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	if n.MerchantID != c.MerchantID {
		return nil, ErrOtherMerchant
	}
	return &n, nil
}

func encodeSig(sig []byte) string { return base64.StdEncoding.EncodeToString(sig) }

func decodeSig(s string) ([]byte, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil && len(b) > 0
}
