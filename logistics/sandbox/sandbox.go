// Package sandbox is a stand-in courier company for tests and integrators:
// an http.Handler serving the carrier API of package carrier (open, read
// and cancel waybills) over an in-memory store, plus endpoints that move a
// waybill along and deliver the signed tracking webhook to the platform,
// as a real carrier would, retrying a few times when the platform does not
// answer 2xx. cmd/carriersandbox serves it on a loopback port; tests serve
// it with httptest.NewServer(sandbox.Handler(cfg)).
//
// It must never be used as a real carrier: it keeps personal data in
// memory only for the life of the process, and it must never log it.
package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"govmobile/logistics/carrier"
)

// Config configures a sandbox.
type Config struct {
	// Secret is the shared secret of API requests and webhooks.
	Secret []byte
	// WebhookURL receives the tracking events; empty delivers none.
	WebhookURL string
	// Attempts is how many times an event is sent before giving up
	// (default 3); RetryWait the wait before the second attempt, doubled
	// each time (default 500 ms).
	Attempts  int
	RetryWait time.Duration
	// Client sends the webhooks (default: 5 s timeout).
	Client *http.Client
	// MaxWaybills bounds the store (default 10000).
	MaxWaybills int
	Logger      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Sandbox is the stand-in carrier.
type Sandbox struct {
	cfg Config
	mux *http.ServeMux

	mu    sync.Mutex
	byNo  map[string]*waybill
	byRef map[string]string
	seq   int
}

type waybill struct {
	no, ref          string
	status           string
	seq              int
	sender, receiver carrier.Party
	events           []carrier.Event
}

// maxBody bounds a request body; maxEvents the events of one waybill.
const (
	maxBody   = 64 << 10
	maxEvents = 100
)

// Handler returns a sandbox for cfg as an http.Handler.
func Handler(cfg Config) http.Handler { return New(cfg) }

// New returns a sandbox.
func New(cfg Config) *Sandbox {
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 500 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	if cfg.MaxWaybills <= 0 {
		cfg.MaxWaybills = 10000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Sandbox{cfg: cfg, byNo: map[string]*waybill{}, byRef: map[string]string{}}
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/waybills", s.create)
	m.HandleFunc("GET /v1/waybills/{no}", s.get)
	m.HandleFunc("POST /v1/waybills/{no}/cancel", s.cancel)
	m.HandleFunc("POST /v1/waybills/{no}/advance", s.advanceHTTP)
	m.HandleFunc("POST /v1/waybills/{no}/events/{event}/redeliver", s.redeliver)
	s.mux = m
	return s
}

// ServeHTTP authenticates every request (HMAC-SM3, package carrier) and
// routes it.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		fail(w, http.StatusRequestEntityTooLarge, "TOO_LARGE", "request body over 64 KiB")
		return
	}
	if err := carrier.VerifyRequest(r, body, s.cfg.Secret, s.cfg.Now()); err != nil {
		fail(w, http.StatusUnauthorized, "UNAUTHORIZED", err.Error())
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.mux.ServeHTTP(w, r)
}

var regionRe = regexp.MustCompile(`^[0-9]{6}$`)

func (s *Sandbox) create(w http.ResponseWriter, r *http.Request) {
	var req carrier.WaybillRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "INVALID_REQUEST", "body is not a waybill request")
		return
	}
	if msg := checkRequest(req); msg != "" {
		fail(w, http.StatusBadRequest, "INVALID_REQUEST", msg)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if no, ok := s.byRef[req.Reference]; ok {
		writeJSON(w, http.StatusOK, s.byNo[no].view(false))
		return
	}
	if len(s.byNo) >= s.cfg.MaxWaybills {
		fail(w, http.StatusServiceUnavailable, "FULL", "the sandbox holds too many waybills; restart it")
		return
	}
	s.seq++
	no := newWaybillNo()
	for s.byNo[no] != nil {
		no = newWaybillNo()
	}
	wb := &waybill{no: no, ref: req.Reference, status: carrier.Created, seq: s.seq, sender: req.Sender, receiver: req.Receiver}
	s.byNo[wb.no], s.byRef[wb.ref] = wb, wb.no
	writeJSON(w, http.StatusCreated, wb.view(false))
}

// checkRequest says what is wrong with a waybill request; its messages
// never quote the values.
func checkRequest(req carrier.WaybillRequest) string {
	if req.Reference == "" || len(req.Reference) > 64 {
		return "reference must have 1-64 characters"
	}
	for role, p := range map[string]carrier.Party{"sender": req.Sender, "receiver": req.Receiver} {
		switch {
		case p.Name == "" || utf8.RuneCountInString(p.Name) > 30:
			return role + ".name must have 1-30 characters"
		case p.Phone == "" || len(p.Phone) > 20:
			return role + ".phone must have 1-20 characters"
		case !regionRe.MatchString(p.RegionCode):
			return role + ".regionCode must be 6 digits"
		case utf8.RuneCountInString(p.Address) < 5 || utf8.RuneCountInString(p.Address) > 120:
			return role + ".address must have 5-120 characters"
		}
	}
	return ""
}

func (s *Sandbox) get(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wb := s.byNo[r.PathValue("no")]
	if wb == nil {
		fail(w, http.StatusNotFound, "NOT_FOUND", "no such waybill")
		return
	}
	writeJSON(w, http.StatusOK, wb.view(true))
}

func (s *Sandbox) cancel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wb := s.byNo[r.PathValue("no")]
	switch {
	case wb == nil:
		fail(w, http.StatusNotFound, "NOT_FOUND", "no such waybill")
		return
	case wb.status == carrier.Cancelled:
	case wb.status != carrier.Created:
		fail(w, http.StatusConflict, "ALREADY_PICKED_UP", "only a waybill not yet picked up can be cancelled")
		return
	default:
		// The platform asked for it and knows: no webhook.
		wb.status = carrier.Cancelled
		wb.events = append(wb.events, s.event(wb, carrier.Cancelled, "寄件已取消。", ""))
	}
	writeJSON(w, http.StatusOK, wb.view(false))
}

// AdvanceRequest is the optional body of POST /v1/waybills/{no}/advance:
// a status to move to instead of the next on the route (EXCEPTION,
// RETURNED, or any step of the route), and its text.
type AdvanceRequest struct {
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
	Location    string `json:"location,omitempty"`
}

// AdvanceResult is the answer of advance and redeliver.
type AdvanceResult struct {
	Event    carrier.Event `json:"event"`
	Delivery Delivery      `json:"delivery"`
}

// Delivery is how sending a webhook went.
type Delivery struct {
	Delivered bool   `json:"delivered"`
	Attempts  int    `json:"attempts"`
	Status    int    `json:"status,omitempty"` // the platform's last HTTP status
	Error     string `json:"error,omitempty"`
}

func (s *Sandbox) advanceHTTP(w http.ResponseWriter, r *http.Request) {
	var req AdvanceRequest
	if body, _ := io.ReadAll(r.Body); len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			fail(w, http.StatusBadRequest, "INVALID_REQUEST", "body is not an advance request")
			return
		}
	}
	ev, code, msg := s.step(r.PathValue("no"), req)
	if code != 0 {
		fail(w, code, codes[code], msg)
		return
	}
	writeJSON(w, http.StatusOK, AdvanceResult{Event: ev, Delivery: s.Deliver(r.Context(), ev)})
}

// Advance moves a waybill to the next status of its route and delivers
// the event, as POST /v1/waybills/{no}/advance does.
func (s *Sandbox) Advance(ctx context.Context, no string) (AdvanceResult, error) {
	ev, code, msg := s.step(no, AdvanceRequest{})
	if code != 0 {
		return AdvanceResult{}, fmt.Errorf("sandbox: %s", msg)
	}
	return AdvanceResult{Event: ev, Delivery: s.Deliver(ctx, ev)}, nil
}

// codes are the error codes of step's HTTP statuses.
var codes = map[int]string{http.StatusNotFound: "NOT_FOUND", http.StatusConflict: "CONFLICT", http.StatusBadRequest: "INVALID_REQUEST"}

var descriptions = map[string]string{
	carrier.PickedUp:       "快递员已揽收。",
	carrier.InTransit:      "快件已到达分拨中心，正在发往目的地。",
	carrier.OutForDelivery: "快递员正在派送，请保持电话畅通。",
	carrier.Delivered:      "快件已签收。",
	carrier.Exception:      "快件派送异常，快递员将与收件人联系。",
	carrier.Returned:       "快件已退回寄件人。",
}

// step moves a waybill and records the event; code is an HTTP status
// when it cannot.
func (s *Sandbox) step(no string, req AdvanceRequest) (carrier.Event, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wb := s.byNo[no]
	if wb == nil {
		return carrier.Event{}, http.StatusNotFound, "no such waybill"
	}
	if wb.status == carrier.Delivered || wb.status == carrier.Returned || wb.status == carrier.Cancelled {
		return carrier.Event{}, http.StatusConflict, "the waybill has ended"
	}
	if len(wb.events) >= maxEvents {
		return carrier.Event{}, http.StatusConflict, "the waybill has too many events"
	}
	to := req.Status
	if to == "" {
		to = next(wb.status, wb.events)
	} else if _, ok := descriptions[to]; !ok {
		return carrier.Event{}, http.StatusBadRequest, "status must be one of PICKED_UP, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, EXCEPTION, RETURNED"
	}
	desc := req.Description
	if desc == "" {
		desc = descriptions[to]
	}
	region := wb.receiver.RegionCode
	if to == carrier.PickedUp {
		region = wb.sender.RegionCode
	}
	loc := req.Location
	if loc == "" {
		loc = "行政区划 " + region + " 营业网点"
	}
	ev := s.event(wb, to, desc, loc)
	wb.status = to
	wb.events = append(wb.events, ev)
	return ev, 0, ""
}

// next is the status after cur on the route; after an exception, the
// step after the last one of the route reached.
func next(cur string, events []carrier.Event) string {
	if cur == carrier.Exception {
		cur = carrier.Created
		for _, e := range events {
			if i := indexOf(e.Status); i > indexOf(cur) {
				cur = e.Status
			}
		}
	}
	if i := indexOf(cur); i >= 0 && i+1 < len(carrier.Route) {
		return carrier.Route[i+1]
	}
	return carrier.Delivered
}

func indexOf(status string) int {
	for i, s := range carrier.Route {
		if s == status {
			return i
		}
	}
	return -1
}

func (s *Sandbox) event(wb *waybill, status, desc, loc string) carrier.Event {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return carrier.Event{EventID: "EV" + hex.EncodeToString(b), WaybillNo: wb.no, Status: status, Description: desc, Location: loc,
		OccurredAt: s.cfg.Now().UTC().Truncate(time.Millisecond)}
}

func (s *Sandbox) redeliver(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var ev *carrier.Event
	if wb := s.byNo[r.PathValue("no")]; wb != nil {
		for i := range wb.events {
			if wb.events[i].EventID == r.PathValue("event") {
				ev = &wb.events[i]
			}
		}
	}
	var found carrier.Event
	if ev != nil {
		found = *ev
	}
	s.mu.Unlock()
	if ev == nil {
		fail(w, http.StatusNotFound, "NOT_FOUND", "no such waybill or event")
		return
	}
	writeJSON(w, http.StatusOK, AdvanceResult{Event: found, Delivery: s.Deliver(r.Context(), found)})
}

// Deliver sends an event to the webhook URL, signed afresh for each
// attempt; it retries after a network error, a 5xx, 408 or 429, waiting
// RetryWait and then twice as long each time, and stops at any other
// answer.
func (s *Sandbox) Deliver(ctx context.Context, ev carrier.Event) Delivery {
	var d Delivery
	if s.cfg.WebhookURL == "" {
		d.Error = "no webhook URL configured"
		return d
	}
	ctx = context.WithoutCancel(ctx) // a carrier finishes its delivery when the caller of advance goes away
	body, _ := json.Marshal(ev)      // an Event always marshals
	wait := s.cfg.RetryWait
	for d.Attempts < s.cfg.Attempts {
		if d.Attempts > 0 {
			time.Sleep(wait)
			wait *= 2
		}
		d.Attempts++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
		if err != nil {
			d.Error = "bad webhook URL"
			return d
		}
		req.Header.Set("Content-Type", "application/json")
		carrier.SignWebhook(req.Header, s.cfg.Secret, body, s.cfg.Now())
		res, err := s.cfg.Client.Do(req)
		if err != nil {
			d.Status, d.Error = 0, err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		d.Status, d.Error = res.StatusCode, ""
		switch {
		case res.StatusCode >= 200 && res.StatusCode <= 299:
			d.Delivered = true
			return d
		case res.StatusCode >= 500, res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests:
			continue
		}
		return d
	}
	s.cfg.Logger.Warn("sandbox: webhook not delivered", "waybill", ev.WaybillNo, "event", ev.EventID, "attempts", d.Attempts, "status", d.Status)
	return d
}

// Run moves every waybill under way one step along its route each
// interval, delivering the events, until ctx ends (the --auto-interval of
// cmd/carriersandbox).
func (s *Sandbox) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, no := range s.underWay() {
			if ctx.Err() != nil {
				return
			}
			if _, err := s.Advance(ctx, no); err != nil {
				s.cfg.Logger.Debug("sandbox: could not advance", "waybill", no, "err", err)
			}
		}
	}
}

// underWay lists the waybills not yet ended, oldest first.
func (s *Sandbox) underWay() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*waybill
	for _, wb := range s.byNo {
		switch wb.status {
		case carrier.Delivered, carrier.Returned, carrier.Cancelled:
		default:
			list = append(list, wb)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	out := make([]string, len(list))
	for i, wb := range list {
		out[i] = wb.no
	}
	return out
}

// view is a waybill as the API shows it: never its parties.
func (wb *waybill) view(events bool) carrier.Waybill {
	v := carrier.Waybill{WaybillNo: wb.no, Reference: wb.ref, Status: wb.status}
	if events {
		v.Events = append([]carrier.Event{}, wb.events...)
	}
	return v
}

// newWaybillNo is SB and 12 random digits.
func newWaybillNo() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1e12))
	return fmt.Sprintf("SB%012d", n)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}
