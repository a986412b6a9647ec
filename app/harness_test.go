package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/logistics"
	lsandbox "govmobile/logistics/sandbox"
	"govmobile/validate"

	"github.com/go-sql-driver/mysql"
)

// The integration tests drive the real server over real HTTP against a real
// database: SQLite always, MariaDB/MySQL as well when TEST_MYSQL_DSN is set
// (a go-sql-driver DSN naming a database the tests may drop and recreate,
// e.g. root@tcp(127.0.0.1:3306)/govmobile_test).

type backend struct {
	name string
	app  *app.App
	srv  *httptest.Server
	dir  string
	// carrier is the sandbox courier the backend's logistics talks to.
	carrier *lsandbox.Sandbox
}

// carrierSecret is the tests' shared secret with the sandbox carrier.
const carrierSecret = "carrier-test-secret-0123456789"

var (
	backendsOnce sync.Once
	backends     []*backend
	backendsErr  error
)

func quietLogger() *slog.Logger {
	if os.Getenv("TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newApp starts a server over a fresh database of the given kind.
func newApp(name string, mutate func(*app.Config)) (*backend, error) {
	dir, err := os.MkdirTemp("", "govmobile-test-")
	if err != nil {
		return nil, err
	}
	// Writes through the app reach the index at once (Notify); polling for
	// other replicas' writes would only add statements to the counts some
	// tests take.
	// Source interfaces in tests are httptest servers: 127.0.0.1 over http is
	// allowed here, and only here.
	cfg := app.Config{DataDir: dir, AdminPassword: "Admin-Test-123", Dev: false, Logger: quietLogger(), SearchPollInterval: time.Hour,
		OutboundAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, OutboundHTTP: true, InterfaceWhitelist: []string{"127.0.0.1"}}
	if name == "mysql" {
		dsn, err := freshMySQL(os.Getenv("TEST_MYSQL_DSN"))
		if err != nil {
			return nil, err
		}
		cfg.DatabaseURL = "mysql://" + dsn
	}
	// The sandbox carrier is a real server on loopback; it learns where to
	// send tracking webhooks once the platform's server has an address.
	var carrierHandler atomic.Pointer[http.Handler]
	carrierSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*carrierHandler.Load()).ServeHTTP(w, r) }))
	cfg.CarrierURL, cfg.CarrierSecret = carrierSrv.URL, carrierSecret
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Search.WaitReady(ctx); err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: search index: %w", name, err)
	}
	b := &backend{name: name, app: a, srv: httptest.NewServer(a.Handler), dir: dir}
	b.carrier = lsandbox.New(lsandbox.Config{Secret: []byte(carrierSecret), WebhookURL: b.srv.URL + logistics.WebhookPath, Logger: quietLogger()})
	var h http.Handler = b.carrier
	carrierHandler.Store(&h)
	return b, nil
}

// freshMySQL drops and recreates the DSN's database.
func freshMySQL(dsn string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("TEST_MYSQL_DSN: %w", err)
	}
	dbName := cfg.DBName
	if dbName == "" {
		dbName = "govmobile_test"
	}
	admin := *cfg
	admin.DBName = ""
	conn, err := mysql.NewConnector(&admin)
	if err != nil {
		return "", err
	}
	db := sqlOpen(conn)
	defer db.Close()
	for _, stmt := range []string{
		"DROP DATABASE IF EXISTS `" + dbName + "`",
		"CREATE DATABASE `" + dbName + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
	} {
		if _, err := db.Exec(stmt); err != nil {
			return "", fmt.Errorf("%s: %w", stmt, err)
		}
	}
	cfg.DBName = dbName
	return cfg.FormatDSN(), nil
}

// isolatedBackend starts a server of the calling test's own over a fresh
// database — for MySQL, one beside TEST_MYSQL_DSN's named with "_"+suffix
// (in CI the account holds every right on govmobile_test%) — for tests whose
// writes the shared servers' other tests must not see, or that must not see
// theirs. It is closed, and its database dropped, when the test ends.
func isolatedBackend(t *testing.T, name, suffix string, mutate func(*app.Config)) *backend {
	t.Helper()
	var dropDSN string
	if name == "mysql" {
		dsn := ownMySQL(t, suffix)
		dropDSN = dsn // dropped when the test ends
		inner := mutate
		mutate = func(c *app.Config) {
			if inner != nil {
				inner(c)
			}
			c.DatabaseURL = "mysql://" + dsn
		}
	}
	b, err := newApp(name+"-"+suffix, mutate)
	if err != nil {
		t.Fatal(err)
	}
	b.name = name // as the shared servers are named: tests branch on it
	t.Cleanup(func() {
		b.srv.Close()
		b.app.Close()
		os.RemoveAll(b.dir)
		if dropDSN != "" {
			dropMySQL(t, dropDSN)
		}
	})
	return b
}

// ownMySQL creates a fresh database beside TEST_MYSQL_DSN's, named with
// "_"+suffix, and returns its DSN.
func ownMySQL(t *testing.T, suffix string) string {
	t.Helper()
	cfg, err := mysql.ParseDSN(os.Getenv("TEST_MYSQL_DSN"))
	if err != nil {
		t.Fatalf("TEST_MYSQL_DSN: %v", err)
	}
	if cfg.DBName == "" {
		cfg.DBName = "govmobile_test"
	}
	cfg.DBName += "_" + suffix
	dsn, err := freshMySQL(cfg.FormatDSN())
	if err != nil {
		t.Fatalf("create the test's own database %s (grant the test account all privileges on it): %v", cfg.DBName, err)
	}
	return dsn
}

// eachIsolated runs f as a subtest against a server of its own per database.
func eachIsolated(t *testing.T, suffix string, mutate func(*app.Config), f func(t *testing.T, b *backend)) {
	names := []string{"sqlite"}
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		names = append(names, "mysql")
	}
	for _, n := range names {
		t.Run(n, func(t *testing.T) { f(t, isolatedBackend(t, n, suffix, mutate)) })
	}
}

// allBackends returns the shared servers, one per configured database.
func allBackends(t *testing.T) []*backend {
	t.Helper()
	backendsOnce.Do(func() {
		names := []string{"sqlite"}
		if os.Getenv("TEST_MYSQL_DSN") != "" {
			names = append(names, "mysql")
		}
		for _, n := range names {
			b, err := newApp(n, nil)
			if err != nil {
				backendsErr = err
				return
			}
			backends = append(backends, b)
		}
	})
	if backendsErr != nil {
		t.Fatalf("start test servers: %v", backendsErr)
	}
	return backends
}

// eachBackend runs f as a subtest against every database.
func eachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	for _, b := range allBackends(t) {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Header http.Header
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	Raw    []byte
}

func (r *gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// decode unmarshals data into v, failing on GraphQL errors.
func (r *gqlResponse) decode(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %s", r.Raw)
	}
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

// post sends a raw body to /graphql.
func (b *backend) post(t testing.TB, body []byte, header map[string]string) *gqlResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /graphql: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &gqlResponse{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("response is not JSON (status %d): %s", res.StatusCode, raw)
	}
	if res.StatusCode >= 500 {
		t.Fatalf("server error %d: %s", res.StatusCode, raw)
	}
	return out
}

// gql sends a query with variables, as the ticket's owner when ticket != "".
func (b *backend) gql(t testing.TB, ticket, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	h := map[string]string{}
	if ticket != "" {
		h["Authorization"] = "Bearer " + ticket
	}
	return b.post(t, body, h)
}

func (b *backend) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(b.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(raw)
}

// expectCode asserts a GraphQL error with the given extensions.code and a
// Chinese message.
func expectCode(t *testing.T, r *gqlResponse, code string) {
	t.Helper()
	if r.code() != code {
		raw := r.Raw
		if len(raw) > 600 {
			raw = append(raw[:600:600], "…"...)
		}
		t.Fatalf("want error code %s, got %s", code, raw)
	}
	if !hasHan(r.Errors[0].Message) {
		t.Fatalf("error message is not a Chinese sentence: %q", r.Errors[0].Message)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

var seq atomic.Int64

// person makes registration input for a new, unique natural person.
func person(t testing.TB) map[string]any {
	n := seq.Add(1)
	return map[string]any{
		"username":       fmt.Sprintf("citizen%d_%d", n, os.Getpid()%10000),
		"password":       "Passw0rd!2026",
		"userType":       "NATURAL_PERSON",
		"realName":       "张三",
		"idNumber":       idNumber(t, "330106", fmt.Sprintf("1985%02d%02d", 1+n%12, 1+n%28), int(n%1000)),
		"phone":          fmt.Sprintf("1390%07d", (n*7919+int64(os.Getpid()))%10000000),
		"privacyConsent": true,
	}
}

// idNumber builds a valid GB 11643 number.
func idNumber(t testing.TB, region, birth string, seq int) string {
	first17 := fmt.Sprintf("%s%s%03d", region, birth, seq)
	c, ok := validate.IDNumberCheckChar(first17)
	if !ok {
		t.Fatalf("bad id number body %s", first17)
	}
	return first17 + string(c)
}

// creditCode builds a valid GB 32100 code.
func creditCode(t *testing.T, n int64) string {
	first17 := fmt.Sprintf("91330106MA%07d", n%10000000)
	c, ok := validate.CreditCodeCheckChar(first17)
	if !ok {
		t.Fatalf("bad credit code body %s", first17)
	}
	return first17 + string(c)
}

const registerMutation = `mutation($in: RegisterInput!) { register(input: $in) { ticket expiresAt user { id username userType realName idNumber phone creditCode organizationName } } }`

type authPayload struct {
	Ticket    string `json:"ticket"`
	ExpiresAt string `json:"expiresAt"`
	User      struct {
		ID               string  `json:"id"`
		Username         string  `json:"username"`
		UserType         string  `json:"userType"`
		RealName         *string `json:"realName"`
		IDNumber         *string `json:"idNumber"`
		Phone            *string `json:"phone"`
		CreditCode       *string `json:"creditCode"`
		OrganizationName *string `json:"organizationName"`
	} `json:"user"`
}

func (b *backend) register(t testing.TB, in map[string]any) authPayload {
	t.Helper()
	var out struct {
		Register authPayload `json:"register"`
	}
	b.gql(t, "", registerMutation, map[string]any{"in": in}).decode(t, &out)
	return out.Register
}

func contains(haystack, needle string) bool { return strings.Contains(haystack, needle) }

func newTestServer(a *app.App) *httptest.Server { return httptest.NewServer(a.Handler) }
