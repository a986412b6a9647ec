package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/iface"
	"govmobile/models"
	"govmobile/signedreq"
)

// approvedInterface registers an interface of the first app at address,
// has it submitted and approved by a second administrator, and returns
// its global ID.
func approvedInterface(t *testing.T, b *backend, registrant, reviewer string, in map[string]any) string {
	t.Helper()
	var app models.App
	if err := b.app.DB.Order("id").First(&app).Error; err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"format": "JSON", "method": "GET"} {
		if _, ok := in[k]; !ok {
			in[k] = v
		}
	}
	var out struct {
		RegisterInterface struct{ Interface struct{ ID string } }
	}
	b.gql(t, registrant, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
		map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": in}}).decode(t, &out)
	id := out.RegisterInterface.Interface.ID
	b.gql(t, registrant, `mutation($id: ID!) { submitInterface(input: {interfaceId: $id}) { interface { id } } }`, map[string]any{"id": id}).decode(t, &struct{}{})
	b.gql(t, reviewer, `mutation($id: ID!) { reviewInterface(input: {interfaceId: $id, approve: true}) { interface { id } } }`, map[string]any{"id": id}).decode(t, &struct{}{})
	return id
}

// TestInterfaceAuthentication: in signature mode every call carries the
// platform's SM2 signature, which the provider verifies with the published
// public key; a provider's key is added to the call, masked in what is
// shown and never returned; whitelist mode needs the address on the
// platform's whitelist.
func TestInterfaceAuthentication(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var keys struct {
			PlatformPublicKeys []struct{ KeyID, PublicKeyHex string }
		}
		b.gql(t, "", `{ platformPublicKeys { keyId publicKeyHex } }`, nil).decode(t, &keys)
		pub := map[string]string{}
		for _, k := range keys.PlatformPublicKeys {
			pub[k.KeyID] = k.PublicKeyHex
		}
		var verified, refused atomic.Int32
		var gotKey atomic.Value
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			gotKey.Store(r.URL.Query().Get("appkey") + func() string {
				var m map[string]string
				_ = json.Unmarshal(body, &m)
				return m["appkey"]
			}())
			if r.URL.Path == "/echo" {
				w.Write([]byte(`{"result_code":"102","error_code":"E9","error_msg":"无效的 appkey：` + r.URL.Query().Get("appkey") + `"}`))
				return
			}
			if r.Header.Get(signedreq.HeaderSignature) == "" {
				w.Write([]byte(`{"result_code":"100","date":"2026-11-27","mode":"whitelist"}`))
				return
			}
			k, err := gm.ParseSM2PublicKeyHex(pub[r.Header.Get(signedreq.HeaderKeyID)])
			if err != nil || signedreq.Check(r, body, k, time.Now()) != nil {
				refused.Add(1)
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"result_code":"102","error_code":"SIGN","error_msg":"验签失败"}`))
				return
			}
			verified.Add(1)
			w.Write([]byte(`{"result_code":"100","date":"2026-11-27"}`))
		}))
		defer src.Close()
		registrant, reviewer := b.adminTicket(t), b.adminTicketOf(t, 0, true)
		const secret = "provider-secret-8cd152933ac290ae"
		for _, method := range []string{"GET", "POST"} {
			id := approvedInterface(t, b, registrant, reviewer, map[string]any{"name": "签名" + method + b.name, "address": src.URL + "/line?city=bj", "method": method,
				"authKeyParam": "appkey", "authKey": secret, "requestParams": []map[string]any{{"name": "q", "required": true, "type": "string"}}})
			r := b.gql(t, registrant, `mutation($id: ID!) { testInterface(input: {interfaceId: $id, params: [{name: "q", value: "快线1号"}]}) { status resultCode request { url body signed } } }`, map[string]any{"id": id})
			var out struct {
				TestInterface struct {
					Status     int
					ResultCode string
					Request    struct {
						URL, Body string
						Signed    bool
					}
				}
			}
			r.decode(t, &out)
			res := out.TestInterface
			if res.Status != 200 || res.ResultCode != "100" || !res.Request.Signed {
				t.Fatalf("%s signed call: %s", method, r.Raw)
			}
			shown, _ := url.QueryUnescape(res.Request.URL)
			if strings.Contains(string(r.Raw), secret) || !strings.Contains(shown+res.Request.Body, `appkey=******`) && !strings.Contains(res.Request.Body, `"appkey":"******"`) {
				t.Fatalf("%s: the provider's key shown: %s", method, r.Raw)
			}
			if gotKey.Load() != secret {
				t.Fatalf("%s: the provider got key %q", method, gotKey.Load())
			}
			// No query returns the key, nor anything of its sealed form.
			var x models.SourceInterface
			if err := b.app.DB.Where("name = ?", "签名"+method+b.name).Take(&x).Error; err != nil || x.AuthKey == "" || strings.Contains(x.AuthKey, secret) {
				t.Fatalf("stored key: %q %v", x.AuthKey, err)
			}
			list := b.gql(t, registrant, `{ sourceInterfaces(first: 100) { edges { node { authMode authKeyParam hasAuthKey } } } }`, nil)
			if strings.Contains(string(list.Raw), secret) || strings.Contains(string(list.Raw), x.AuthKey) || !strings.Contains(string(list.Raw), `"hasAuthKey":true`) {
				t.Fatalf("list: %s", list.Raw)
			}
		}
		if verified.Load() != 2 || refused.Load() != 0 {
			t.Fatalf("provider verified %d, refused %d", verified.Load(), refused.Load())
		}
		// A signature over other parameters does not verify at the provider.
		req, _ := http.NewRequest(http.MethodGet, src.URL+"/line?q=1", nil)
		k, _ := gm.GenerateSM2Key()
		_ = signedreq.Sign(req, nil, "x", keys.PlatformPublicKeys[0].KeyID, time.Now(), func(m []byte) ([]byte, error) { return gm.SM2Sign(k, m) })
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a forged signature: %v %v", resp, err)
		}

		// Whitelist mode: 127.0.0.1 is on the test whitelist, localhost is not.
		wl := approvedInterface(t, b, registrant, reviewer, map[string]any{"name": "白名单" + b.name, "address": src.URL + "/wl", "authMode": "WHITELIST"})
		r := b.gql(t, registrant, `mutation($id: ID!) { testInterface(input: {interfaceId: $id}) { resultCode body request { signed } } }`, map[string]any{"id": wl})
		if !strings.Contains(string(r.Raw), `"signed":false`) || !strings.Contains(string(r.Raw), "whitelist") {
			t.Fatalf("whitelist call: %s", r.Raw)
		}
		var app models.App
		b.app.DB.Order("id").First(&app)
		expectCode(t, b.gql(t, registrant, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
			map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": map[string]any{"name": "不在白名单" + b.name,
				"address": strings.Replace(src.URL, "127.0.0.1", "localhost", 1) + "/x", "format": "JSON", "method": "GET", "authMode": "WHITELIST"}}}), models.ECodeBadUserInput)
		expectCode(t, b.gql(t, registrant, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
			map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": map[string]any{"name": "控制字符" + b.name,
				"address": src.URL + "/x", "format": "JSON", "method": "GET", "authKey": "a\nb"}}}), models.ECodeBadUserInput)
		// The key is kept when an update leaves it out, removed with "".
		update := `mutation($id: ID!, $in: SourceInterfaceInput!) { updateInterface(input: {interfaceId: $id, interface: $in}) { interface { hasAuthKey } } }`
		in := map[string]any{"name": "白名单" + b.name, "address": src.URL + "/wl", "format": "JSON", "method": "GET", "authMode": "WHITELIST"}
		if r := b.gql(t, registrant, update, map[string]any{"id": wl, "in": in}); !strings.Contains(string(r.Raw), `"hasAuthKey":false`) {
			t.Fatalf("update: %s", r.Raw)
		}
		in["authKey"] = "k2"
		if r := b.gql(t, registrant, update, map[string]any{"id": wl, "in": in}); !strings.Contains(string(r.Raw), `"hasAuthKey":true`) {
			t.Fatalf("update with a key: %s", r.Raw)
		}
		delete(in, "authKey")
		if r := b.gql(t, registrant, update, map[string]any{"id": wl, "in": in}); !strings.Contains(string(r.Raw), `"hasAuthKey":true`) {
			t.Fatalf("update keeping the key: %s", r.Raw)
		}
		in["authKey"] = ""
		if r := b.gql(t, registrant, update, map[string]any{"id": wl, "in": in}); !strings.Contains(string(r.Raw), `"hasAuthKey":false`) {
			t.Fatalf("update removing the key: %s", r.Raw)
		}
		// A provider echoing the key does not show it; a draft's test is not
		// signed; a new host needs the key written again.
		echo := approvedInterface(t, b, registrant, reviewer, map[string]any{"name": "回显" + b.name, "address": src.URL + "/echo", "authKeyParam": "appkey", "authKey": secret})
		r = b.gql(t, registrant, `mutation($id: ID!) { testInterface(input: {interfaceId: $id}) { body errorMsg request { signed } } }`, map[string]any{"id": echo})
		if strings.Contains(string(r.Raw), secret) || !strings.Contains(string(r.Raw), "无效的 appkey：******") {
			t.Fatalf("echo: %s", r.Raw)
		}
		expectCode(t, b.gql(t, registrant, `mutation($id: ID!) { testInterface(input: {interfaceId: $id, params: [{name: "appkey", value: "x"}]}) { body } }`, map[string]any{"id": echo}), models.ECodeBadUserInput)
		moved := map[string]any{"name": "回显" + b.name, "address": strings.Replace(src.URL, "127.0.0.1", "127.0.0.1.nip.invalid", 1) + "/echo", "format": "JSON", "method": "GET", "authKeyParam": "appkey"}
		if r := b.gql(t, registrant, update, map[string]any{"id": echo, "in": moved}); !strings.Contains(string(r.Raw), `"hasAuthKey":false`) {
			t.Fatalf("a new host kept the key: %s", r.Raw)
		}
		moved["address"] = src.URL + "/echo"
		if r := b.gql(t, registrant, update, map[string]any{"id": echo, "in": moved}); !strings.Contains(string(r.Raw), `"hasAuthKey":false`) {
			t.Fatalf("update back: %s", r.Raw)
		}
		r = b.gql(t, registrant, `mutation($id: ID!) { testInterface(input: {interfaceId: $id}) { request { signed } } }`, map[string]any{"id": echo})
		if !strings.Contains(string(r.Raw), `"signed":false`) {
			t.Fatalf("a draft's test was signed: %s", r.Raw)
		}
		// The audit log keeps no key.
		logs := b.gql(t, registrant, `{ auditLogs(operation: "registerInterface", first: 20) { edges { node { arguments } } } }`, nil)
		if strings.Contains(string(logs.Raw), secret) {
			t.Fatalf("the provider's key in the audit log: %s", logs.Raw)
		}
		// Nor its sealed form, in the snapshots of the interface.
		logs = b.gql(t, registrant, `{ auditLogs(operation: "updateInterface", first: 20) { edges { node { before after } } } }`, nil)
		if strings.Contains(string(logs.Raw), secret) || !strings.Contains(string(logs.Raw), `\"AuthKey\":\"***\"`) {
			t.Fatalf("snapshots of an interface: %.2000s", logs.Raw)
		}
	})
}

// TestInterfaceHealth: checks of approved interfaces record outcomes and
// latency; slow, failing and timing-out interfaces raise alerts after two
// bad checks in a row; administrators see, acknowledge and resolve them;
// the history gives availability and percentiles.
func TestInterfaceHealth(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var mu sync.Mutex
		calls := map[string]int{}
		down := atomic.Bool{}
		down.Store(true)
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls[r.URL.Path]++
			mu.Unlock()
			switch r.URL.Path {
			case "/slow":
				time.Sleep(150 * time.Millisecond)
			case "/hang":
				time.Sleep(time.Second)
			case "/flaky":
				if down.Load() {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
			case "/html":
				w.Write([]byte("<html>维护中</html>"))
				return
			}
			w.Write([]byte(`{"result_code":"100","date":"2026-11-27"}`))
		}))
		defer src.Close()
		registrant, reviewer := b.adminTicket(t), b.adminTicketOf(t, 0, true)
		ids := map[string]string{}
		for _, p := range []string{"/ok", "/slow", "/hang", "/flaky", "/html"} {
			ids[p] = approvedInterface(t, b, registrant, reviewer, map[string]any{"name": "健康" + p + b.name, "address": src.URL + p, "slowMs": 100})
		}
		// A draft is not checked.
		var app models.App
		b.app.DB.Order("id").First(&app)
		b.gql(t, registrant, `mutation($in: RegisterInterfaceInput!) { registerInterface(input: $in) { interface { id } } }`,
			map[string]any{"in": map[string]any{"appId": gid("App", app.ID), "interface": map[string]any{"name": "草稿" + b.name, "address": src.URL + "/draft", "format": "JSON", "method": "GET"}}}).decode(t, &struct{}{})
		// Only this test's interfaces are due.
		b.app.DB.Model(&models.SourceInterface{}).Where("address NOT LIKE ?", src.URL+"%").Update("next_check_at", time.Now().Add(24*time.Hour))

		ctx := context.Background()
		cfg := iface.HealthConfig{Interval: time.Minute, Timeout: 400 * time.Millisecond}
		now := time.Now().UTC()
		for round := range 2 {
			n, err := b.app.Interfaces.CheckDue(ctx, now.Add(time.Duration(round)*(time.Minute+time.Second)), cfg)
			if err != nil || n != 5 {
				t.Fatalf("round %d: checked %d, %v", round, n, err)
			}
		}
		// Not due again within the interval.
		if n, err := b.app.Interfaces.CheckDue(ctx, now.Add(100*time.Second), cfg); err != nil || n != 0 {
			t.Fatalf("checked again early: %d %v", n, err)
		}
		mu.Lock() // the hanging handler may still be counting
		draftCalls, okCalls := calls["/draft"], calls["/ok"]
		mu.Unlock()
		if draftCalls != 0 || okCalls != 2 {
			t.Fatalf("calls: draft %d, ok %d", draftCalls, okCalls)
		}
		type alert struct {
			ID, Kind, Status, Message string
			Count                     int
			Interface                 struct{ Name string }
		}
		alerts := func(status string) []alert {
			var out struct {
				InterfaceAlerts struct {
					Edges []struct{ Node alert }
				}
			}
			vars := map[string]any{}
			q := `{ interfaceAlerts(first: 100) { edges { node { id kind status message count interface { name } } } } }`
			if status != "" {
				q, vars["s"] = `query($s: AlertStatus) { interfaceAlerts(status: $s, first: 100) { edges { node { id kind status message count interface { name } } } } }`, status
			}
			b.gql(t, reviewer, q, vars).decode(t, &out)
			var list []alert
			for _, e := range out.InterfaceAlerts.Edges {
				if strings.HasSuffix(e.Node.Interface.Name, b.name) && strings.HasPrefix(e.Node.Interface.Name, "健康") {
					list = append(list, e.Node)
				}
			}
			return list
		}
		kinds := map[string]string{}
		for _, a := range alerts("OPEN") {
			kinds[strings.TrimSuffix(strings.TrimPrefix(a.Interface.Name, "健康"), b.name)] = a.Kind
			if a.Count != 1 || !strings.Contains(a.Message, "连续2次") {
				t.Errorf("alert: %+v", a)
			}
		}
		if want := map[string]string{"/slow": "SLOW", "/hang": "TIMEOUT", "/flaky": "FAILED", "/html": "FAILED"}; len(kinds) != len(want) || kinds["/slow"] != "SLOW" || kinds["/hang"] != "TIMEOUT" || kinds["/flaky"] != "FAILED" || kinds["/html"] != "FAILED" {
			t.Fatalf("alerts: %v", kinds)
		}
		// A third bad check counts on the open alert; the flaky one recovers.
		down.Store(false)
		if _, err := b.app.Interfaces.CheckDue(ctx, now.Add(2*time.Minute+3*time.Second), cfg); err != nil {
			t.Fatal(err)
		}
		var flaky alert
		for _, a := range alerts("") {
			switch a.Interface.Name {
			case "健康/hang" + b.name:
				if a.Count != 2 {
					t.Errorf("hang alert count: %+v", a)
				}
			case "健康/flaky" + b.name:
				flaky = a
			}
		}
		// Acknowledge, then resolve; not twice.
		ack := `mutation($id: ID!) { acknowledgeInterfaceAlert(input: {alertId: $id}) { status acknowledgedAt } }`
		resolve := `mutation($id: ID!) { resolveInterfaceAlert(input: {alertId: $id, note: "上游已修复"}) { status note recoveredAt resolvedAt } }`
		if r := b.gql(t, reviewer, ack, map[string]any{"id": flaky.ID}); !strings.Contains(string(r.Raw), `"ACKNOWLEDGED"`) {
			t.Fatalf("ack: %s", r.Raw)
		}
		expectCode(t, b.gql(t, reviewer, ack, map[string]any{"id": flaky.ID}), models.ECodeConflict)
		if r := b.gql(t, reviewer, resolve, map[string]any{"id": flaky.ID}); !strings.Contains(string(r.Raw), `"RESOLVED"`) || strings.Contains(string(r.Raw), `"recoveredAt":null`) {
			t.Fatalf("resolve: %s", r.Raw)
		}
		expectCode(t, b.gql(t, reviewer, resolve, map[string]any{"id": flaky.ID}), models.ECodeConflict)
		expectCode(t, b.gql(t, reviewer, ack, map[string]any{"id": "not-an-id"}), models.ECodeBadUserInput)
		// Agency staff hold no monitoring permission.
		expectCode(t, b.gql(t, b.staffTicket(t, 1), ack, map[string]any{"id": flaky.ID}), models.ECodeForbidden)

		// The history: availability and latency percentiles.
		var h struct {
			SourceInterfaces struct {
				Edges []struct {
					Node struct {
						Name, LastOutcome string
						BadStreak         int
						Health            struct {
							Checks, Ok, Slow, Failed, Timeout int
							Availability                      *float64
							P95Ms                             int
							Recent                            []struct{ Outcome, Error string }
						}
					}
				}
			}
		}
		b.gql(t, reviewer, `{ sourceInterfaces(first: 100) { edges { node { name lastOutcome badStreak health { checks ok slow failed timeout availability p95Ms recent { outcome error } } } } } }`, nil).decode(t, &h)
		seen := 0
		for _, e := range h.SourceInterfaces.Edges {
			n := e.Node
			switch n.Name {
			case "健康/ok" + b.name:
				seen++
				if n.Health.Checks != 3 || n.Health.Ok != 3 || *n.Health.Availability != 1 || n.LastOutcome != "OK" || n.BadStreak != 0 {
					t.Errorf("ok: %+v", n)
				}
			case "健康/slow" + b.name:
				seen++
				if n.Health.Slow != 3 || *n.Health.Availability != 1 || n.Health.P95Ms < 150 || n.BadStreak != 3 {
					t.Errorf("slow: %+v", n)
				}
			case "健康/hang" + b.name:
				seen++
				if n.Health.Timeout != 3 || *n.Health.Availability != 0 || n.Health.Recent[0].Outcome != "TIMEOUT" || !strings.Contains(n.Health.Recent[0].Error, "超时") {
					t.Errorf("hang: %+v", n)
				}
			case "健康/flaky" + b.name:
				seen++
				if n.Health.Failed != 2 || n.Health.Ok != 1 || n.LastOutcome != "OK" || n.BadStreak != 0 {
					t.Errorf("flaky: %+v", n)
				}
			case "草稿" + b.name:
				seen++
				if n.Health.Checks != 0 || n.Health.Availability != nil || n.LastOutcome != "" {
					t.Errorf("draft: %+v", n)
				}
			}
		}
		if seen != 5 {
			t.Fatalf("saw %d of the interfaces", seen)
		}
	})
}

// TestHealthSchedulerLease: two schedulers sharing the database (as two
// replicas would) check each interface once per interval: the lease gives
// the work to one at a time, the claim marks what a run took.
func TestHealthSchedulerLease(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		name := "lease-test-" + b.name
		if ok, err := database.TryLease(ctx, b.app.DB, name, "a", time.Minute); !ok || err != nil {
			t.Fatalf("first holder: %v %v", ok, err)
		}
		if ok, err := database.TryLease(ctx, b.app.DB, name, "b", time.Minute); ok || err != nil {
			t.Fatalf("second holder while the first holds: %v %v", ok, err)
		}
		if ok, err := database.TryLease(ctx, b.app.DB, name, "a", time.Minute); !ok || err != nil {
			t.Fatalf("renewal: %v %v", ok, err)
		}
		b.app.DB.Model(&models.Lease{}).Where("name = ?", name).Update("expires_at", time.Now().UTC().Add(-time.Second))
		if ok, err := database.TryLease(ctx, b.app.DB, name, "b", time.Minute); !ok || err != nil {
			t.Fatalf("taking over an expired lease: %v %v", ok, err)
		}

		var mu sync.Mutex
		calls := map[string]int{}
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls[r.URL.Path]++
			mu.Unlock()
			w.Write([]byte(`{"result_code":"100"}`))
		}))
		defer src.Close()
		registrant, reviewer := b.adminTicket(t), b.adminTicketOf(t, 0, true)
		for i := range 20 {
			approvedInterface(t, b, registrant, reviewer, map[string]any{"name": "租约" + b.name + string(rune('a'+i)), "address": src.URL + "/" + string(rune('a'+i))})
		}
		b.app.DB.Model(&models.SourceInterface{}).Where("address NOT LIKE ?", src.URL+"%").Update("next_check_at", time.Now().Add(24*time.Hour))
		// Two runs at once (replicas whose leases overlapped): each
		// interface is claimed, called and recorded by one of them.
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				counts[i], _ = b.app.Interfaces.CheckDue(ctx, time.Now().UTC(), iface.HealthConfig{Interval: time.Hour})
			}()
		}
		wg.Wait()
		if counts[0]+counts[1] != 20 {
			t.Fatalf("the two runs checked %v", counts)
		}
		var rows int64
		b.app.DB.Model(&models.InterfaceCheck{}).Where("interface_id IN (?)", b.app.DB.Model(&models.SourceInterface{}).Select("id").Where("address LIKE ?", src.URL+"%")).Count(&rows)
		if rows != 20 {
			t.Fatalf("%d checks recorded for 20 interfaces", rows)
		}
		// Two schedulers: only the lease holder runs; nothing is due again
		// within the hour.
		b.app.DB.Where("name = ?", "interface-health").Delete(&models.Lease{})
		runCtx, stop := context.WithCancel(ctx)
		for _, holder := range []string{"replica-1", "replica-2"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b.app.Interfaces.RunHealthChecks(runCtx, iface.HealthConfig{Interval: time.Hour, Tick: 20 * time.Millisecond, Holder: holder, Logger: quietLogger()})
			}()
		}
		time.Sleep(300 * time.Millisecond)
		var lease models.Lease
		b.app.DB.Where("name = ?", "interface-health").Take(&lease)
		stop()
		wg.Wait()
		if lease.Holder != "replica-1" && lease.Holder != "replica-2" {
			t.Fatalf("lease: %+v", lease)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != 20 {
			t.Fatalf("checked %d of 20 interfaces", len(calls))
		}
		for p, n := range calls {
			if n != 1 {
				t.Errorf("%s checked %d times", p, n)
			}
		}
	})
}
