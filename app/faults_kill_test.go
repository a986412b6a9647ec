package app_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// TestKillDuringSubmissions (issue 9): the real binary, killed with SIGKILL
// in the middle of a stream of submissions and catalogue writes, then
// started again on the same data directory and database. Every submission
// that was acknowledged is there exactly once and whole (its values and
// its timeline); a submission whose answer was lost, sent again with its
// idempotency key, lands once; an acknowledged one sent again returns the
// same case; and every knowledge entry acknowledged before the kill is
// found by search after the restart (the index catches up from the outbox).
// SQLite always; MariaDB too when TEST_MYSQL_DSN is set (on a database of
// its own, faultsMySQL).
func TestKillDuringSubmissions(t *testing.T) {
	bin := buildServer(t)
	t.Run("sqlite", func(t *testing.T) { killDuringSubmissions(t, bin, "") })
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		t.Run("mysql", func(t *testing.T) { killDuringSubmissions(t, bin, "mysql://"+faultsMySQL(t).FormatDSN()) })
	}
}

// buildServer builds the govmobile binary from the module root.
func buildServer(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	bin := filepath.Join(t.TempDir(), "govmobile")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	start := time.Now()
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the server in %.1f s", time.Since(start).Seconds())
	return bin
}

// serverProcess is the binary running on loopback.
type serverProcess struct {
	cmd  *exec.Cmd
	url  string
	log  string
	done chan error
}

// startServer runs the binary on a free loopback port with the data
// directory (and database URL, when given) and extra flags, and waits
// until /readyz answers 200.
func startServer(t *testing.T, bin, dataDir, dbURL string, extra ...string) *serverProcess {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"--addr", addr, "--data-dir", dataDir, "--admin-password", "Admin-Test-123", "--dev=false",
		"--rate-ip", "0", "--rate-ticket", "0", "--response-cache-mb", "0", "--log-level", "warn"}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	args = append(args, extra...)
	logPath := filepath.Join(filepath.Dir(dataDir), "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, url: "http://" + addr, log: logPath, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() { p.kill() })
	c := newFaultClient(p.url, 2*time.Second, 1)
	deadline := time.Now().Add(90 * time.Second)
	for c.ready() != 200 {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("the server exited while starting: %v\n%s", err, p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server was not ready within 90 s\n%s", p.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// kill sends SIGKILL and waits for the process to go.
func (p *serverProcess) kill() {
	_ = p.cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

func (p *serverProcess) logTail() string {
	raw, _ := os.ReadFile(p.log)
	if len(raw) > 3000 {
		raw = raw[len(raw)-3000:]
	}
	return string(raw)
}

// token is a word made of letters only, unique for n, for finding one
// knowledge entry by search.
func token(n int) string {
	b := []byte("zqkw")
	for ; n > 0 || len(b) == 4; n /= 26 {
		b = append(b, byte('a'+n%26))
	}
	return string(b)
}

// killDuringSubmissions runs the binary on a fresh data directory and the
// database dbURL ("" for SQLite in the data directory).
func killDuringSubmissions(t *testing.T, bin, dbURL string) {
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	first := startServer(t, bin, dataDir, dbURL)
	c := newFaultClient(first.url, 10*time.Second, 16)
	must := func(r faultAnswer, v any) {
		t.Helper()
		if r.outcome() != "OK" {
			t.Fatalf("%s: %s %v", r.outcome(), r.raw, r.err)
		}
		if err := json.Unmarshal(r.data, v); err != nil {
			t.Fatal(err)
		}
	}

	const citizens = 8
	tickets := make([]string, citizens)
	users := make([]uint64, citizens)
	for i := range tickets {
		var out struct{ Register authPayload }
		must(c.gql("", registerMutation, map[string]any{"in": person(t)}), &out)
		tickets[i], users[i] = out.Register.Ticket, mustKey(t, out.Register.User.ID)
	}
	var admin struct{ AdminLogin struct{ Ticket string } }
	must(c.gql("", `mutation($in: AdminLoginInput!) { adminLogin(input: $in) { ticket } }`,
		map[string]any{"in": map[string]any{"username": "admin", "password": "Admin-Test-123"}}), &admin)
	var ms struct {
		Matters struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	must(c.gql("", `query { matters(first: 20, filter: { onlineOnly: true }) { edges { node { id } } } }`, nil), &ms)
	if len(ms.Matters.Edges) == 0 {
		t.Fatal("no matter takes online applications")
	}

	// The stream: each citizen submits one application after another, with
	// a key each; the administrator writes knowledge entries.
	type submission struct {
		user        int
		key, matter string
		caseID      string // when acknowledged
	}
	var (
		mu       sync.Mutex
		acked    []submission
		unknown  []submission          // no answer: the kill came first
		refused  []string              // an error answer before the kill
		entries  = map[string]string{} // token → entry ID, acknowledged
		stop     atomic.Bool
		wg       sync.WaitGroup
		ackCount atomic.Int64
	)
	for w := range citizens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				s := submission{user: w, key: fmt.Sprintf("kill-%d-%d", w, n), matter: ms.Matters.Edges[(w+n)%len(ms.Matters.Edges)].Node.ID}
				r := c.gql(tickets[w], faultSubmit, map[string]any{"in": map[string]any{"matterId": s.matter, "values": completeForm, "idempotencyKey": s.key}})
				var out struct {
					SubmitApplication struct{ Case struct{ ID string } }
				}
				mu.Lock()
				switch {
				case r.err != nil:
					unknown = append(unknown, s)
				case r.outcome() == "OK" && json.Unmarshal(r.data, &out) == nil && out.SubmitApplication.Case.ID != "":
					s.caseID = out.SubmitApplication.Case.ID
					acked = append(acked, s)
					ackCount.Add(1)
				default:
					refused = append(refused, fmt.Sprintf("%s: %s", s.key, firstN(string(r.raw), 300)))
				}
				mu.Unlock()
				if r.err != nil {
					return // the server is gone
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; !stop.Load(); n++ {
			tok := token(n)
			r := c.gql(admin.AdminLogin.Ticket, `mutation($in: KnowledgeEntryInput!) { createKnowledgeEntry(input: $in) { entry { id } } }`,
				map[string]any{"in": map[string]any{"question": "断电演练问题 " + tok + "？", "answer": "断电演练的解答。", "keywords": []string{tok}}})
			var out struct {
				CreateKnowledgeEntry struct{ Entry struct{ ID string } }
			}
			if r.err != nil {
				return
			}
			mu.Lock()
			if r.outcome() == "OK" && json.Unmarshal(r.data, &out) == nil {
				entries[tok] = out.CreateKnowledgeEntry.Entry.ID
			} else {
				refused = append(refused, fmt.Sprintf("knowledge %s: %s", tok, firstN(string(r.raw), 300)))
			}
			mu.Unlock()
		}
	}()
	streamStart := time.Now()
	for ackCount.Load() < 50 && time.Since(streamStart) < 20*time.Second {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	first.kill()
	killedAfter := time.Since(streamStart)
	stop.Store(true)
	wg.Wait()
	if len(refused) > 0 {
		t.Errorf("%d requests refused before the kill, e.g. %s", len(refused), refused[0])
	}

	// Started again on the same data directory and database.
	restart := time.Now()
	second := startServer(t, bin, dataDir, dbURL)
	readyIn := time.Since(restart)
	c = newFaultClient(second.url, 10*time.Second, 16)

	// Of the submissions whose answer was lost, some had committed.
	db := openFaultDB(t, dbURL, dataDir)
	var beforeRetry int64
	if err := db.Model(&models.Case{}).Where("user_id IN ?", users).Count(&beforeRetry).Error; err != nil {
		t.Fatal(err)
	}

	// Acknowledged submissions sent again return their case; lost answers
	// sent again land once.
	replayedSame, landed := 0, 0
	for _, s := range append(append([]submission{}, acked...), unknown...) {
		r := c.gql(tickets[s.user], faultSubmit, map[string]any{"in": map[string]any{"matterId": s.matter, "values": completeForm, "idempotencyKey": s.key}})
		var out struct {
			SubmitApplication struct{ Case struct{ ID string } }
		}
		if r.outcome() != "OK" || json.Unmarshal(r.data, &out) != nil {
			t.Errorf("%s sent again after the restart: %s %v", s.key, r.raw, r.err)
			continue
		}
		if s.caseID == "" {
			landed++
		} else if out.SubmitApplication.Case.ID == s.caseID {
			replayedSame++
		} else {
			t.Errorf("%s sent again returned case %s, first %s", s.key, out.SubmitApplication.Case.ID, s.caseID)
		}
	}

	// The database: each acknowledged case once, whole; the citizens'
	// cases are exactly their keys.
	var rows []models.Case
	if err := db.Where("user_id IN ?", users).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]models.Case{}
	numbers := map[string]int{}
	for _, r := range rows {
		byID[r.ID] = r
		numbers[r.Number]++
	}
	var events []models.CaseEvent
	if err := db.Where("case_id IN ?", caseIDs(byID)).Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	steps := map[uint64][]models.CaseEvent{}
	for _, e := range events {
		steps[e.CaseID] = append(steps[e.CaseID], e)
	}
	found, dups, halves := 0, 0, 0
	for _, s := range acked {
		if _, ok := byID[mustKey(t, s.caseID)]; ok {
			found++
		}
	}
	for n, k := range numbers {
		if k > 1 {
			dups++
			t.Errorf("case number %s is there %d times", n, k)
		}
	}
	for id, r := range byID {
		st := steps[id]
		if r.Status != "SUBMITTED" || r.ValuesEnc == "" || r.SubmittedAt == nil || len(st) != 1 || st[0].ToStatus != "SUBMITTED" {
			halves++
			if halves <= 3 {
				t.Errorf("case %d is not whole: status %s, sealed values %d bytes, submitted %v, %d steps", id, r.Status, len(r.ValuesEnc), r.SubmittedAt, len(st))
			}
		}
	}
	if found != len(acked) {
		t.Errorf("%d of %d acknowledged submissions are in the database", found, len(acked))
	}
	if want := len(acked) + len(unknown); len(rows) != want {
		t.Errorf("%d cases for %d distinct submissions", len(rows), want)
	}
	// And each citizen reads them back whole through the API.
	apiCases := 0
	for i, tk := range tickets {
		after := ""
		for {
			vars := map[string]any{"first": 100}
			if after != "" {
				vars["after"] = after
			}
			var out struct {
				MyCases struct {
					TotalCount int
					PageInfo   struct {
						HasNextPage bool
						EndCursor   string
					}
					Edges []struct{ Node caseOut }
				}
			}
			must(c.gql(tk, `query($first: Int, $after: String) { myCases(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { `+caseFields+` } } } }`, vars), &out)
			for _, e := range out.MyCases.Edges {
				apiCases++
				if n := e.Node; n.Status != "SUBMITTED" || len(n.Values) != len(completeForm) || len(n.Timeline) != 1 {
					t.Errorf("citizen %d reads case %s: status %s, %d values, %d steps", i, n.Number, n.Status, len(n.Values), len(n.Timeline))
				}
			}
			if !out.MyCases.PageInfo.HasNextPage {
				break
			}
			after = out.MyCases.PageInfo.EndCursor
		}
	}
	if apiCases != len(rows) {
		t.Errorf("myCases lists %d cases, the database holds %d", apiCases, len(rows))
	}

	// The search index catches up: every entry acknowledged before the
	// kill is found.
	searchStart := time.Now()
	missing := map[string]string{}
	for tok, id := range entries {
		missing[tok] = id
	}
	for len(missing) > 0 && time.Since(searchStart) < 20*time.Second {
		for tok, id := range missing {
			r := c.gql("", `query($q: String!) { search(query: $q, scope: KNOWLEDGE, first: 5) { edges { node { item { ... on KnowledgeEntry { id } } } } } }`, map[string]any{"q": tok})
			var out struct {
				Search struct {
					Edges []struct {
						Node struct{ Item struct{ ID string } }
					}
				}
			}
			if r.outcome() == "OK" && json.Unmarshal(r.data, &out) == nil {
				for _, e := range out.Search.Edges {
					if e.Node.Item.ID == id {
						delete(missing, tok)
					}
				}
			}
		}
		if len(missing) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	caughtUp := time.Since(searchStart)
	var lag struct {
		Details struct {
			SearchIndex struct{ LagRows int64 }
		}
	}
	if res, err := c.http.Get(second.url + "/readyz"); err == nil {
		_ = json.NewDecoder(res.Body).Decode(&lag)
		res.Body.Close()
	}

	t.Logf("killed after %.1f s of streaming; restarted and ready in %.1f s", killedAfter.Seconds(), readyIn.Seconds())
	t.Logf("submissions: %d acknowledged, %d found in the database (%d cases for the citizens, %d read back through myCases), %d duplicates, %d not whole",
		len(acked), found, len(rows), apiCases, dups, halves)
	t.Logf("sent again after the restart: %d acknowledged ones returned their case, %d whose answer was lost landed once (%d of them had committed before the kill)",
		replayedSame, landed, beforeRetry-int64(len(acked)))
	t.Logf("search: %d knowledge entries acknowledged before the kill, all found %.2f s after the restart was ready (%d missing); outbox lag now %d rows",
		len(entries), caughtUp.Seconds(), len(missing), lag.Details.SearchIndex.LagRows)
	if len(missing) > 0 {
		t.Errorf("%d acknowledged knowledge entries not found by search 20 s after the restart", len(missing))
	}
	if t.Failed() {
		t.Logf("server log:\n%s", second.logTail())
	}
}

// openFaultDB opens the database to check beside the running server: dbURL,
// or the SQLite file in dataDir (WAL lets it be read meanwhile).
func openFaultDB(t *testing.T, dbURL, dataDir string) *gorm.DB {
	t.Helper()
	if dbURL == "" {
		dbURL = "sqlite://" + filepath.Join(dataDir, "govmobile.db")
	}
	db, _, err := database.Open(database.Config{DSN: dbURL, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	return db
}

func caseIDs[V any](m map[uint64]V) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 0 {
		out = append(out, 0)
	}
	return out
}
