// Package carrier is the wire contract between the platform and a courier
// company (物流服务, 8.3.2 e): the Carrier interface the logistics service
// calls to open and cancel waybills, its one HTTP implementation (Client),
// the JSON of waybills and tracking events, and the HMAC-SM3 signature that
// authenticates both directions with one shared secret.
//
// Requests and webhooks carry X-Carrier-Timestamp (Unix seconds) and
// X-Carrier-Signature, lowercase hex of HMAC-SM3(secret, message):
//
//	webhook (carrier → platform):  TIMESTAMP "\n" BODY
//	request (platform → carrier):  TIMESTAMP "\n" METHOD "\n" TARGET "\n" BODY
//
// An API request also signs its method and target (path and query): many
// have an empty body, and a signature over the timestamp alone would let a
// captured request be replayed on another waybill.
//
// It must never log or put into an error a party's name, phone or address,
// nor the secret; and it compares signatures only in constant time.
package carrier

import (
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"time"

	"govmobile/gm"
)

// The statuses of a waybill, as carriers send them.
const (
	Created        = "CREATED"          // ordered, waiting for the courier
	PickedUp       = "PICKED_UP"        // collected by the courier
	InTransit      = "IN_TRANSIT"       // between depots
	OutForDelivery = "OUT_FOR_DELIVERY" // with the delivering courier
	Delivered      = "DELIVERED"        // signed for
	Exception      = "EXCEPTION"        // held up (address unclear, nobody home, …)
	Returned       = "RETURNED"         // sent back to the sender
	Cancelled      = "CANCELLED"        // cancelled before pickup
)

// Route is the normal progression of a waybill, first to last.
var Route = []string{Created, PickedUp, InTransit, OutForDelivery, Delivered}

// Carrier is a courier company as the logistics service uses it.
type Carrier interface {
	// CreateWaybill opens a waybill and returns its number. The same
	// Reference always yields the same waybill, so a call that timed out
	// may be repeated without opening a second one.
	CreateWaybill(ctx context.Context, req WaybillRequest) (string, error)
	// CancelWaybill cancels a waybill not yet picked up; a carrier that
	// refuses (already picked up) answers an *Error with status 409.
	CancelWaybill(ctx context.Context, waybillNo string) error
}

// Party is a sender or a receiver.
type Party struct {
	Name       string `json:"name"`
	Phone      string `json:"phone"`
	RegionCode string `json:"regionCode"` // 6-digit administrative division code
	Address    string `json:"address"`    // the rest of the address, below the region
}

// WaybillRequest is POST /v1/waybills.
type WaybillRequest struct {
	// Reference is the platform's idempotency key for this waybill.
	Reference string `json:"reference"`
	Sender    Party  `json:"sender"`
	Receiver  Party  `json:"receiver"`
}

// Waybill is what the carrier says about a waybill (GET /v1/waybills/{no}).
type Waybill struct {
	WaybillNo string  `json:"waybillNo"`
	Reference string  `json:"reference,omitempty"`
	Status    string  `json:"status"`
	Events    []Event `json:"events,omitempty"`
}

// Event is a tracking event, the body of a webhook.
type Event struct {
	EventID     string    `json:"eventId"`
	WaybillNo   string    `json:"waybillNo"`
	Status      string    `json:"status"`
	Description string    `json:"description"`
	Location    string    `json:"location"`
	OccurredAt  time.Time `json:"occurredAt"`
}

// Header names.
const (
	HeaderTimestamp = "X-Carrier-Timestamp"
	HeaderSignature = "X-Carrier-Signature"
)

// MaxSkew is the largest clock difference a verifier accepts.
const MaxSkew = 300 * time.Second

// Errors of the verifiers, each its own reason.
var (
	ErrMissing   = errors.New("carrier signature: a signature header is missing")
	ErrTimestamp = errors.New("carrier signature: timestamp outside the allowed window")
	ErrSignature = errors.New("carrier signature: signature does not verify")
)

// WebhookMessage is what a webhook's signature covers.
func WebhookMessage(timestamp string, body []byte) []byte {
	msg := make([]byte, 0, len(timestamp)+1+len(body))
	msg = append(msg, timestamp...)
	msg = append(msg, '\n')
	return append(msg, body...)
}

// RequestMessage is what an API request's signature covers; target is the
// request target as sent (escaped path, and "?" and the query if any).
func RequestMessage(timestamp, method, target string, body []byte) []byte {
	return WebhookMessage(timestamp+"\n"+method+"\n"+target, body)
}

// Signature is lowercase hex of HMAC-SM3(secret, msg).
func Signature(secret, msg []byte) string {
	return hex.EncodeToString(gm.HMACSM3(secret, msg))
}

// SignWebhook sets the signature headers of a webhook with body.
func SignWebhook(h http.Header, secret, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, Signature(secret, WebhookMessage(ts, body)))
}

// VerifyWebhook checks a webhook's timestamp window and signature.
func VerifyWebhook(h http.Header, body, secret []byte, now time.Time) error {
	return verify(h, secret, now, func(ts string) []byte { return WebhookMessage(ts, body) })
}

// SignRequest sets the signature headers of an API request with body.
func SignRequest(r *http.Request, secret, body []byte, now time.Time) {
	ts := strconv.FormatInt(now.Unix(), 10)
	r.Header.Set(HeaderTimestamp, ts)
	r.Header.Set(HeaderSignature, Signature(secret, RequestMessage(ts, r.Method, r.URL.RequestURI(), body)))
}

// VerifyRequest checks a received API request's timestamp window and
// signature.
func VerifyRequest(r *http.Request, body, secret []byte, now time.Time) error {
	return verify(r.Header, secret, now, func(ts string) []byte {
		return RequestMessage(ts, r.Method, r.URL.RequestURI(), body)
	})
}

func verify(h http.Header, secret []byte, now time.Time, message func(ts string) []byte) error {
	ts, sigText := h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if ts == "" || sigText == "" {
		return ErrMissing
	}
	// Digits only, so that one instant has one spelling ("+17…", "017…"
	// would sign other bytes for the same time).
	if len(ts) > 12 || ts[0] == '0' {
		return ErrTimestamp
	}
	for _, c := range ts {
		if c < '0' || c > '9' {
			return ErrTimestamp
		}
	}
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return ErrTimestamp
	}
	sig, err := hex.DecodeString(sigText)
	if err != nil || len(sig) != 32 {
		return ErrSignature
	}
	if !hmac.Equal(gm.HMACSM3(secret, message(ts)), sig) {
		return ErrSignature
	}
	return nil
}
