package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"govmobile/app"
	"govmobile/internal/faultproxy"
	"govmobile/models"
)

// The fault tests of issue 9: what a client sees when the database goes away
// and comes back (TestDatabaseOutageUnderLoad), when the server is killed in
// the middle of a stream of submissions (TestKillDuringSubmissions,
// faults_kill_test.go) and when the disk for uploads is full
// (TestUploadDiskFull, faults_disk_test.go). Each prints its figures with
// -v:
//
//	TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/govmobile_test' \
//	  go test -count=1 -v -run 'TestDatabaseOutageUnderLoad|TestKillDuringSubmissions|TestUploadDiskFull' ./app/

// faultClient sends requests the way a mobile client does, with a bound on
// how long it waits: an answer that takes longer is a hang.
type faultClient struct {
	base string
	http *http.Client
}

func newFaultClient(base string, timeout time.Duration, conns int) *faultClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	return &faultClient{base: base, http: &http.Client{Timeout: timeout, Transport: tr}}
}

// faultAnswer is one answer, or the failure to get one.
type faultAnswer struct {
	status  int
	code    string // extensions.code of the first error; "" on success
	message string
	data    json.RawMessage
	raw     []byte
	err     error // transport failure or timeout
	took    time.Duration
}

// outcome names an answer for the tallies: OK, an error code, HTTP status
// or HANG/TRANSPORT.
func (a faultAnswer) outcome() string {
	var ne net.Error
	switch {
	case a.err != nil && errors.As(a.err, &ne) && ne.Timeout():
		return "HANG"
	case a.err != nil:
		return "TRANSPORT"
	case a.status >= 500 && a.code == "":
		return fmt.Sprintf("HTTP%d", a.status)
	case a.code != "":
		return a.code
	case a.status != 200:
		return fmt.Sprintf("HTTP%d", a.status)
	}
	return "OK"
}

func (c *faultClient) gql(ticket, query string, vars map[string]any) faultAnswer {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, c.base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if ticket != "" {
		req.Header.Set("Authorization", "Bearer "+ticket)
	}
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return faultAnswer{err: err, took: time.Since(start)}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	a := faultAnswer{status: res.StatusCode, raw: raw, err: err, took: time.Since(start)}
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	if err == nil && json.Unmarshal(raw, &out) == nil {
		a.data = out.Data
		if len(out.Errors) > 0 {
			a.code, _ = out.Errors[0].Extensions["code"].(string)
			a.message = out.Errors[0].Message
			if a.code == "" {
				a.code = "NO_CODE"
			}
		}
	} else if err == nil {
		a.code = "NOT_JSON"
	}
	return a
}

// ready is GET /readyz's status, 0 when there was no answer.
func (c *faultClient) ready() int {
	res, err := c.http.Get(c.base + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// faultsMySQL is a fresh database of its own for the fault tests, beside
// TEST_MYSQL_DSN's (its name with "_faults"): they add thousands of cases and
// cut connections, which the shared test database's users must not see. The
// account needs the right to create it (in CI: a grant on govmobile_test%).
// Skipped without TEST_MYSQL_DSN.
func faultsMySQL(t *testing.T) *mysql.Config {
	t.Helper()
	if os.Getenv("TEST_MYSQL_DSN") == "" {
		t.Skip("TEST_MYSQL_DSN not set: the database outage needs MariaDB (SQLite is in the process)")
	}
	cfg, err := mysql.ParseDSN(ownMySQL(t, "faults"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const (
	faultSubmit  = `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id number status } } }`
	faultMyCases = `query { myCases(first: 20) { totalCount edges { node { id number status } } } }`
)

// TestDatabaseOutageUnderLoad (issue 9): MariaDB goes away for 10 s while
// 16 clients read the catalogue and their cases and submit applications,
// then comes back. Meanwhile every answer is UNAVAILABLE with a Chinese
// message (or a success), never a 500 or a hang, and /readyz is red; after
// it, everything succeeds again without a restart, /readyz is green within
// seconds, and every acknowledged submission is in the database once.
func TestDatabaseOutageUnderLoad(t *testing.T) {
	cfg := faultsMySQL(t)
	proxy := faultproxy.Start(t, cfg.Addr)
	cfg.Addr = proxy.Addr()
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), DatabaseURL: "mysql://" + cfg.FormatDSN(),
		AdminPassword: "Admin-Test-123", Logger: quietLogger(), SearchPollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Search.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	srv := newTestServer(a)
	t.Cleanup(srv.Close)

	const (
		clients     = 16
		outageAt    = 5 * time.Second
		outageFor   = 10 * time.Second
		total       = 25 * time.Second
		hangBound   = 5 * time.Second
		recoverTime = 5 * time.Second // after Up, everything must succeed again
	)
	c := newFaultClient(srv.URL, hangBound, clients+2)
	var matters []models.Matter
	if err := a.DB.Scopes(onlineMatters).Order("id").Limit(50).Find(&matters).Error; err != nil || len(matters) == 0 {
		t.Fatalf("matters: %v", err)
	}
	tickets, users := make([]string, clients), make([]uint64, clients)
	for i := range tickets {
		r := c.gql("", registerMutation, map[string]any{"in": person(t)})
		var out struct{ Register authPayload }
		if r.outcome() != "OK" || json.Unmarshal(r.data, &out) != nil || out.Register.Ticket == "" {
			t.Fatalf("register: %s %s", r.outcome(), r.raw)
		}
		tickets[i], users[i] = out.Register.Ticket, mustKey(t, out.Register.User.ID)
	}
	if got := c.ready(); got != 200 {
		t.Fatalf("/readyz before the outage: %d", got)
	}

	type sample struct {
		op         string
		start, end time.Duration // since the test's start
		answer     faultAnswer
		key        string // submissions: the idempotency key
		matter     uint64 // and the matter applied for
		number     string // an acknowledged submission's case number
		ticket     int
	}
	var (
		mu      sync.Mutex
		samples []sample
		stop    atomic.Bool
		wg      sync.WaitGroup
		t0      = time.Now()
		downAt  atomic.Int64 // since t0, when the proxy went down
		upAt    atomic.Int64 // since t0, when it came back
	)
	downAt.Store(int64(time.Hour))
	upAt.Store(int64(time.Hour))
	ops := []string{"matters", "matter", "myCases", "submit"}
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			var mine []sample
			for n := 0; !stop.Load(); n++ {
				s := sample{op: ops[rng.IntN(len(ops))], start: time.Since(t0), ticket: w}
				switch s.op {
				case "matters":
					s.answer = c.gql(tickets[w], `query { matters(first: 10, filter: { regionCode: "330100" }) { totalCount edges { node { id name } } } }`, nil)
				case "matter":
					m := matters[rng.IntN(len(matters))]
					s.answer = c.gql(tickets[w], `query($id: ID!) { matter(id: $id) { id name guide { conditions } } }`, map[string]any{"id": gid("Matter", m.ID)})
				case "myCases":
					s.answer = c.gql(tickets[w], faultMyCases, nil)
				case "submit":
					m := matters[rng.IntN(len(matters))]
					s.key, s.matter = fmt.Sprintf("outage-%d-%d", w, n), m.ID
					s.answer = c.gql(tickets[w], faultSubmit, map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID),
						"values": completeForm, "idempotencyKey": s.key}})
					if s.answer.outcome() == "OK" {
						var out struct {
							SubmitApplication struct{ Case struct{ Number string } }
						}
						_ = json.Unmarshal(s.answer.data, &out)
						s.number = out.SubmitApplication.Case.Number
					}
				}
				s.end = time.Since(t0)
				mine = append(mine, s)
				time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
			mu.Lock()
			samples = append(samples, mine...)
			mu.Unlock()
		}()
	}
	// /readyz, polled every 100 ms.
	type probe struct {
		at     time.Duration
		status int
	}
	var probes []probe
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			at := time.Since(t0)
			probes = append(probes, probe{at, c.ready()})
			time.Sleep(100 * time.Millisecond)
		}
	}()
	time.Sleep(outageAt)
	downAt.Store(int64(time.Since(t0)))
	proxy.Down()
	time.Sleep(outageFor)
	if err := proxy.Up(); err != nil {
		t.Fatalf("start the proxy again: %v", err)
	}
	upAt.Store(int64(time.Since(t0)))
	time.Sleep(total - outageAt - outageFor)
	stop.Store(true)
	wg.Wait()
	down, up := time.Duration(downAt.Load()), time.Duration(upAt.Load())

	// Tally, and check each answer against the phase it fell in.
	byCode := map[string]int{}
	phase := map[string]map[string]int{"before": {}, "outage": {}, "recovery": {}, "after": {}}
	firstOK := time.Duration(-1)
	var bad []string
	acked := map[string]string{} // key → case number
	var unacked []sample
	slices.SortFunc(samples, func(x, y sample) int { return int(x.start - y.start) })
	for _, s := range samples {
		o := s.answer.outcome()
		byCode[o]++
		p := "after"
		switch {
		case s.end < down:
			p = "before"
		case s.start < up:
			p = "outage"
		case s.start < up+recoverTime:
			p = "recovery"
		}
		phase[p][o]++
		if o == "OK" && s.start >= up && (firstOK < 0 || s.end-up < firstOK) {
			firstOK = s.end - up
		}
		if s.op == "submit" {
			if o == "OK" {
				acked[s.key] = s.number
			} else {
				unacked = append(unacked, s)
			}
		}
		fine := o == "OK" || (o == models.ECodeUnavailable && s.answer.status < 500 && hasHan(s.answer.message) && p != "before" && p != "after")
		if !fine && len(bad) < 8 {
			bad = append(bad, fmt.Sprintf("%s %s at %.1fs (%s, took %s): %s %v", p, s.op, s.start.Seconds(), o,
				s.answer.took.Round(time.Millisecond), firstN(string(s.answer.raw), 300), s.answer.err))
		}
	}
	outageOps := map[string]map[string]int{}
	statuses := map[int]int{}
	var slowest time.Duration
	for _, s := range samples {
		if s.end >= down && s.start < up {
			if outageOps[s.op] == nil {
				outageOps[s.op] = map[string]int{}
			}
			outageOps[s.op][s.answer.outcome()]++
			statuses[s.answer.status]++
			slowest = max(slowest, s.answer.took)
		}
	}
	var redDuring, probesDuring int
	green := time.Duration(-1)
	for _, pr := range probes {
		if pr.at > down+time.Second && pr.at < up {
			probesDuring++
			if pr.status != 200 {
				redDuring++
			}
		}
		if pr.at >= up && pr.status == 200 && green < 0 {
			green = pr.at - up
		}
	}
	t.Logf("database outage: %d clients, %d requests in %.0f s, outage %.1fs–%.1fs", clients, len(samples), total.Seconds(), down.Seconds(), up.Seconds())
	t.Logf("answers by outcome: %v", byCode)
	for _, p := range []string{"before", "outage", "recovery", "after"} {
		t.Logf("  %-8s %v", p, phase[p])
	}
	t.Logf("  during the outage by operation: %v; HTTP statuses %v; slowest answer %s", outageOps, statuses, slowest.Round(time.Millisecond))
	t.Logf("/readyz red in %d of %d probes during the outage; green %.2f s after the database came back", redDuring, probesDuring, green.Seconds())
	t.Logf("first success %.2f s after the database came back", firstOK.Seconds())
	if len(bad) > 0 {
		t.Errorf("answers that are neither a success nor UNAVAILABLE in the outage (first %d):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if byCode["HANG"] > 0 {
		t.Errorf("%d requests took longer than %s", byCode["HANG"], hangBound)
	}
	if phase["outage"][models.ECodeUnavailable] == 0 {
		t.Errorf("no request saw UNAVAILABLE during the outage: %v", phase["outage"])
	}
	if probesDuring == 0 || redDuring != probesDuring {
		t.Errorf("/readyz was red in only %d of %d probes during the outage", redDuring, probesDuring)
	}
	if green < 0 || green > 5*time.Second {
		t.Errorf("/readyz not green within 5 s of the database coming back (%.2f s)", green.Seconds())
	}
	if firstOK < 0 || firstOK > 5*time.Second {
		t.Errorf("no success within 5 s of the database coming back (%.2f s)", firstOK.Seconds())
	}

	// Submissions whose answer was lost are sent again with their key, as a
	// client does, each client its own: each lands once, whether or not
	// the first attempt had.
	retried := 0
	var retryMu sync.Mutex
	var retries sync.WaitGroup
	for w := range clients {
		retries.Add(1)
		go func() {
			defer retries.Done()
			for _, s := range unacked {
				if s.ticket != w {
					continue
				}
				in := map[string]any{"matterId": gid("Matter", s.matter), "values": completeForm, "idempotencyKey": s.key}
				r := c.gql(tickets[w], faultSubmit, map[string]any{"in": in})
				var out struct {
					SubmitApplication struct{ Case struct{ Number string } }
				}
				_ = json.Unmarshal(r.data, &out)
				retryMu.Lock()
				if r.outcome() == "OK" {
					acked[s.key] = out.SubmitApplication.Case.Number
					retried++
				} else {
					t.Errorf("retrying submission %s after recovery: %s", s.key, r.raw)
				}
				retryMu.Unlock()
			}
		}()
	}
	retries.Wait()
	// Every acknowledged case number is in the database once, and the
	// clients' cases are exactly their distinct keys.
	var rows []models.Case
	if err := a.DB.Where("user_id IN ?", users).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range rows {
		seen[r.Number]++
	}
	lost, dup := 0, 0
	for _, n := range acked {
		if seen[n] == 0 {
			lost++
		}
	}
	for n, k := range seen {
		if k > 1 {
			dup++
			t.Errorf("case %s is in the database %d times", n, k)
		}
	}
	ackedFirst := len(acked) - retried
	t.Logf("submissions: %d acknowledged at once, %d failed and sent again after recovery, %d cases in the database for %d keys; lost %d, duplicated %d",
		ackedFirst, retried, len(rows), len(acked), lost, dup)
	if lost > 0 {
		t.Errorf("%d acknowledged submissions are not in the database", lost)
	}
	if len(rows) != len(acked) {
		t.Errorf("%d cases in the database for %d distinct submissions", len(rows), len(acked))
	}
}

func firstN(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
