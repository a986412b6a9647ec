package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"govmobile/logistics/carrier"
)

const secret = "cmd-test-secret-0123456"

// TestServes starts the command on a loopback port and opens, advances
// and tracks a waybill over the wire; the webhook reaches the platform
// stand-in signed with the shared secret.
func TestServes(t *testing.T) {
	got := make(chan carrier.Event, 4)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := carrier.VerifyWebhook(r.Header, body, []byte(secret), time.Now()); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev carrier.Event
		_ = json.Unmarshal(body, &ev)
		got <- ev
	}))
	defer platform.Close()

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-secret", secret, "-webhook-url", platform.URL + "/logistics/webhook"},
			io.Discard, func(a string) { addr <- a })
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	c := carrier.NewClient(base, []byte(secret), nil)
	no, err := c.CreateWaybill(ctx, carrier.WaybillRequest{Reference: "REF1",
		Sender:   carrier.Party{Name: "张三", Phone: "13812345678", RegionCode: "110105", Address: "朝阳路100号"},
		Receiver: carrier.Party{Name: "政务服务中心", Phone: "010-65090000", RegionCode: "110105", Address: "朝阳路200号"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, http.MethodPost, "/v1/waybills/"+no+"/advance", nil, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-got:
		if ev.WaybillNo != no || ev.Status != carrier.PickedUp {
			t.Errorf("webhook %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook")
	}
	res, err := http.Get(base + "/v1/waybills/" + no)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned GET: %d", res.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestRefusesBadFlags(t *testing.T) {
	cases := map[string][]string{
		"no secret":       {"-addr", "127.0.0.1:0"},
		"short secret":    {"-addr", "127.0.0.1:0", "-secret", "short"},
		"every interface": {"-addr", ":0", "-secret", secret},
		"public address":  {"-addr", "0.0.0.0:0", "-secret", secret},
		"bad webhook URL": {"-addr", "127.0.0.1:0", "-secret", secret, "-webhook-url", "ftp://x"},
		"unknown flag":    {"-port", "1"},
	}
	for name, args := range cases {
		err := run(context.Background(), args, io.Discard, func(string) { t.Errorf("%s: started", name) })
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if loopback("localhost:1") != true || loopback("[::1]:1") != true || loopback("10.0.0.1:1") || loopback("nonsense") {
		t.Error("loopback")
	}
}
