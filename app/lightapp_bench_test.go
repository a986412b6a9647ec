package app_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"govmobile/sdk"
)

// BenchmarkTicketExchange (issue 7: at least 1,000 exchanges a second with
// SQLite, median under 5 ms): app servers exchanging one-time tickets over
// HTTP with the SDK, 4, 8 and 16 at a time (the SDK's own signing and
// verifying run in the same process, on the same two cores). Each exchange is the whole path: the
// app's SM2 signature made and verified, the nonce and the ticket spent in
// one transaction, the consent and the user read, the user's data
// decrypted and sealed with SM4-GCM, the answer signed by the platform and
// verified by the SDK. Tickets are issued before the clock starts.
//
//	go test -run '^$' -bench TicketExchange -benchtime 4000x ./app/
func BenchmarkTicketExchange(b *testing.B) {
	for _, clients := range []int{4, 8, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchExchange(b, clients) })
	}
}

var benchApps atomic.Int64

func benchExchange(b *testing.B, clients int) {
	be, _ := benchBackend(b)
	code := fmt.Sprintf("bench-la-%d", benchApps.Add(1))
	owner, reviewer := be.adminTicketOf(b, 0, true), be.adminTicketOf(b, 0, true)
	appID, key, dataKey := onlineIdentityApp(b, be, owner, reviewer, code, "name", "idNumber", "phone")
	user := be.register(b, person(b)).Ticket
	be.gql(b, user, `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt } }`, map[string]any{"id": appID}).decode(b, &struct{}{})
	var userID uint64
	be.app.DB.Raw("SELECT user_id FROM app_consents ORDER BY id DESC LIMIT 1").Scan(&userID)
	var rawApp uint64
	be.app.DB.Raw("SELECT id FROM apps WHERE code = ?", code).Scan(&rawApp)
	tickets := make([]string, b.N)
	for i := range tickets {
		tk, _, err := be.app.LightApps.IssueTicket(context.Background(), userID, rawApp)
		if err != nil {
			b.Fatal(err)
		}
		tickets[i] = tk
	}
	client := &sdk.Client{BaseURL: be.srv.URL, AppID: code, PrivateKey: key, PlatformKeys: platformKeys(b, be), DataKeys: map[int][]byte{1: dataKey},
		HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}}
	took := make([]time.Duration, b.N)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tickets) {
					return
				}
				t0 := time.Now()
				if _, err := client.Exchange(context.Background(), tickets[i]); err != nil {
					failed.Add(1)
				}
				took[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d exchanges failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "exchanges/s")
	reportLatency(b, took)
}
