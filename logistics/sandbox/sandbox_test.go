package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"govmobile/logistics/carrier"
	"govmobile/logistics/sandbox"
)

var secret = []byte("sandbox-test-secret-0123")

// receiver is the platform's side: it verifies each webhook's signature
// and keeps the events; the first failFirst deliveries answer failStatus.
type receiver struct {
	mu         sync.Mutex
	events     []carrier.Event
	calls      int
	failFirst  int
	failStatus int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if err := carrier.VerifyWebhook(r.Header, body, secret, time.Now()); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.calls <= rc.failFirst {
		w.WriteHeader(rc.failStatus)
		return
	}
	var ev carrier.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) statuses() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		out = append(out, e.Status)
	}
	return out
}

type fixture struct {
	sb     *sandbox.Sandbox
	client *carrier.Client
	rc     *receiver
}

func start(t *testing.T, rc *receiver) *fixture {
	t.Helper()
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	sb := sandbox.New(sandbox.Config{Secret: secret, WebhookURL: hook.URL, RetryWait: time.Millisecond})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &fixture{sb: sb, client: carrier.NewClient(srv.URL, secret, nil), rc: rc}
}

func request(ref string) carrier.WaybillRequest {
	return carrier.WaybillRequest{Reference: ref,
		Sender:   carrier.Party{Name: "张三", Phone: "13812345678", RegionCode: "110105", Address: "朝阳路100号3单元"},
		Receiver: carrier.Party{Name: "朝阳区政务服务中心", Phone: "010-65090000", RegionCode: "110105", Address: "朝阳路200号一层收件窗口"}}
}

func advance(t *testing.T, f *fixture, no string, req *sandbox.AdvanceRequest) (sandbox.AdvanceResult, error) {
	t.Helper()
	var out sandbox.AdvanceResult
	var in any
	if req != nil {
		in = req
	}
	err := f.client.Call(context.Background(), http.MethodPost, "/v1/waybills/"+no+"/advance", in, &out)
	return out, err
}

func status(err error) int {
	var ce *carrier.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

func TestAuthentication(t *testing.T) {
	f := start(t, &receiver{})
	srv := httptest.NewServer(f.sb)
	defer srv.Close()
	res, err := http.Post(srv.URL+"/v1/waybills", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned request: %d", res.StatusCode)
	}
	wrong := carrier.NewClient(srv.URL, []byte("not-the-secret-0123"), nil)
	if _, err := wrong.CreateWaybill(context.Background(), request("R1")); status(err) != http.StatusUnauthorized {
		t.Errorf("wrong secret: %v", err)
	}
}

func TestCreateIsIdempotentByReference(t *testing.T) {
	f := start(t, &receiver{})
	ctx := context.Background()
	a, err := f.client.CreateWaybill(ctx, request("R1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.client.CreateWaybill(ctx, request("R1"))
	if err != nil || b != a {
		t.Errorf("same reference: %q, %v; want %q", b, err, a)
	}
	c, err := f.client.CreateWaybill(ctx, request("R2"))
	if err != nil || c == a {
		t.Errorf("other reference: %q, %v", c, err)
	}
	bad := request("R3")
	bad.Receiver.RegionCode = "1101"
	if _, err := f.client.CreateWaybill(ctx, bad); status(err) != http.StatusBadRequest {
		t.Errorf("bad region: %v", err)
	}
}

func TestAdvanceDeliversSignedWebhooks(t *testing.T) {
	f := start(t, &receiver{})
	no, err := f.client.CreateWaybill(context.Background(), request("R1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{carrier.PickedUp, carrier.InTransit, carrier.OutForDelivery, carrier.Delivered} {
		res, err := advance(t, f, no, nil)
		if err != nil || res.Event.Status != want || !res.Delivery.Delivered || res.Delivery.Attempts != 1 {
			t.Fatalf("advance: %+v, %v; want %s delivered", res, err, want)
		}
	}
	if _, err := advance(t, f, no, nil); status(err) != http.StatusConflict {
		t.Errorf("advance after delivery: %v", err)
	}
	if got := f.rc.statuses(); len(got) != 4 || got[3] != carrier.Delivered {
		t.Errorf("received %v", got)
	}
	wb, err := f.client.Waybill(context.Background(), no)
	if err != nil || wb.Status != carrier.Delivered || len(wb.Events) != 4 {
		t.Errorf("waybill %+v, %v", wb, err)
	}
	if err := f.client.CancelWaybill(context.Background(), no); status(err) != http.StatusConflict {
		t.Errorf("cancel after delivery: %v", err)
	}
	// Redelivery sends the same event ID again, signed afresh.
	var out sandbox.AdvanceResult
	if err := f.client.Call(context.Background(), http.MethodPost, "/v1/waybills/"+no+"/events/"+wb.Events[0].EventID+"/redeliver", nil, &out); err != nil || !out.Delivery.Delivered {
		t.Fatalf("redeliver: %+v, %v", out, err)
	}
	if f.rc.events[4].EventID != wb.Events[0].EventID {
		t.Errorf("redelivered %s; want %s", f.rc.events[4].EventID, wb.Events[0].EventID)
	}
}

func TestExceptionThenResume(t *testing.T) {
	f := start(t, &receiver{})
	no, _ := f.client.CreateWaybill(context.Background(), request("R1"))
	advance(t, f, no, nil) // picked up
	advance(t, f, no, nil) // in transit
	res, err := advance(t, f, no, &sandbox.AdvanceRequest{Status: carrier.Exception, Description: "地址不详"})
	if err != nil || res.Event.Status != carrier.Exception || res.Event.Description != "地址不详" {
		t.Fatalf("exception: %+v, %v", res, err)
	}
	if res, err = advance(t, f, no, nil); err != nil || res.Event.Status != carrier.OutForDelivery {
		t.Errorf("after the exception: %+v, %v; want OUT_FOR_DELIVERY", res, err)
	}
	if _, err = advance(t, f, no, &sandbox.AdvanceRequest{Status: "LOST"}); status(err) != http.StatusBadRequest {
		t.Errorf("unknown status: %v", err)
	}
}

func TestCancel(t *testing.T) {
	f := start(t, &receiver{})
	ctx := context.Background()
	no, _ := f.client.CreateWaybill(ctx, request("R1"))
	if err := f.client.CancelWaybill(ctx, no); err != nil {
		t.Fatal(err)
	}
	if err := f.client.CancelWaybill(ctx, no); err != nil {
		t.Errorf("second cancel: %v", err)
	}
	if _, err := advance(t, f, no, nil); status(err) != http.StatusConflict {
		t.Errorf("advance after cancel: %v", err)
	}
	if len(f.rc.statuses()) != 0 {
		t.Errorf("cancel sent webhooks: %v", f.rc.statuses())
	}
	if err := f.client.CancelWaybill(ctx, "SB000"); status(err) != http.StatusNotFound {
		t.Errorf("unknown waybill: %v", err)
	}
}

func TestDeliveryRetries(t *testing.T) {
	cases := []struct {
		name       string
		failFirst  int
		failStatus int
		delivered  bool
		attempts   int
	}{
		{"two 503 then success", 2, http.StatusServiceUnavailable, true, 3},
		{"429 then success", 1, http.StatusTooManyRequests, true, 2},
		{"always 500", 10, http.StatusInternalServerError, false, 3},
		{"a 404 is final", 10, http.StatusNotFound, false, 1},
	}
	for _, c := range cases {
		f := start(t, &receiver{failFirst: c.failFirst, failStatus: c.failStatus})
		no, _ := f.client.CreateWaybill(context.Background(), request("R1"))
		res, err := advance(t, f, no, nil)
		if err != nil || res.Delivery.Delivered != c.delivered || res.Delivery.Attempts != c.attempts {
			t.Errorf("%s: %+v, %v", c.name, res.Delivery, err)
		}
	}
	// Nobody listening.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	sb := sandbox.New(sandbox.Config{Secret: secret, WebhookURL: dead.URL, RetryWait: time.Millisecond})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	no, _ := carrier.NewClient(srv.URL, secret, nil).CreateWaybill(context.Background(), request("R1"))
	if res, err := sb.Advance(context.Background(), no); err != nil || res.Delivery.Delivered || res.Delivery.Attempts != 3 || res.Delivery.Error == "" {
		t.Errorf("unreachable: %+v, %v", res.Delivery, err)
	}
}

func TestRunAdvancesAutomatically(t *testing.T) {
	f := start(t, &receiver{})
	no, _ := f.client.CreateWaybill(context.Background(), request("R1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.sb.Run(ctx, 5*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.rc.statuses()) < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	got := f.rc.statuses()
	want := []string{carrier.PickedUp, carrier.InTransit, carrier.OutForDelivery, carrier.Delivered}
	if len(got) != 4 {
		t.Fatalf("received %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("received %v; want %v", got, want)
		}
	}
	if wb, _ := f.client.Waybill(context.Background(), no); wb.Status != carrier.Delivered {
		t.Errorf("status %s", wb.Status)
	}
}
