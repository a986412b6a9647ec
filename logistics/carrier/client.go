package carrier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Timeout bounds a whole call to the carrier, response included, when the
// caller gives no client of its own.
const Timeout = 10 * time.Second

// maxResponse bounds what the client reads of a carrier's answer.
const maxResponse = 64 << 10

// Error is a carrier's refusal: its HTTP status and its error code (the
// code only: a carrier's message may quote the request's personal data).
type Error struct {
	Status int
	Code   string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("carrier: HTTP %d %s", e.Status, e.Code)
	}
	return fmt.Sprintf("carrier: HTTP %d", e.Status)
}

// Client is the Carrier of a courier company reached over HTTP at its
// base URL (the sandbox's API is the reference).
type Client struct {
	base   string
	secret []byte
	http   *http.Client
	now    func() time.Time
}

var _ Carrier = (*Client)(nil)

// NewClient returns a client of the carrier at baseURL (scheme, host and
// optional path prefix, e.g. https://carrier.example/api), signing with
// secret. hc, when nil, is a client with Timeout and no redirects.
func NewClient(baseURL string, secret []byte, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a signed call is never re-sent elsewhere
		}}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), secret: append([]byte(nil), secret...), http: hc, now: time.Now}
}

// CreateWaybill opens a waybill (POST /v1/waybills).
func (c *Client) CreateWaybill(ctx context.Context, req WaybillRequest) (string, error) {
	var out Waybill
	if err := c.Call(ctx, http.MethodPost, "/v1/waybills", req, &out); err != nil {
		return "", err
	}
	if out.WaybillNo == "" {
		return "", fmt.Errorf("carrier: answer without a waybill number")
	}
	return out.WaybillNo, nil
}

// CancelWaybill cancels a waybill (POST /v1/waybills/{no}/cancel).
func (c *Client) CancelWaybill(ctx context.Context, waybillNo string) error {
	return c.Call(ctx, http.MethodPost, "/v1/waybills/"+url.PathEscape(waybillNo)+"/cancel", nil, nil)
}

// Waybill reads a waybill and its events (GET /v1/waybills/{no}), for
// reconciliation.
func (c *Client) Waybill(ctx context.Context, waybillNo string) (*Waybill, error) {
	var out Waybill
	if err := c.Call(ctx, http.MethodGet, "/v1/waybills/"+url.PathEscape(waybillNo), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Call sends a signed request with in as its JSON body (none when nil) and
// decodes a 2xx answer into out (ignored when nil). Any other status is an
// *Error. It serves the calls above and the sandbox's own endpoints.
func (c *Client) Call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("carrier: encode request: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("carrier: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	SignRequest(req, c.secret, body, c.now())
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("carrier: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("carrier: read answer: %w", err)
	}
	if len(data) > maxResponse {
		return fmt.Errorf("carrier: answer over %d bytes", maxResponse)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		var e struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(data, &e)
		return &Error{Status: res.StatusCode, Code: cleanCode(e.Code)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("carrier: decode answer: %w", err)
		}
	}
	return nil
}

// cleanCode keeps an error code only when it looks like one (A–Z, 0–9, _),
// so that nothing else of an answer reaches a log.
func cleanCode(s string) string {
	if len(s) > 64 {
		return ""
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return ""
		}
	}
	return s
}
