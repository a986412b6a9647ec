package logistics_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/gm"
	"govmobile/logistics"
	"govmobile/logistics/carrier"
	"govmobile/logistics/sandbox"
	"govmobile/models"
)

// The tests run against a real database: SQLite always, MySQL/MariaDB as
// well when TEST_MYSQL_DSN is set (a go-sql-driver DSN; the database is
// shared, so each test uses its own random user, agency and carrier name
// and deletes only its own rows). The carrier is the sandbox on loopback,
// and its webhooks reach the service through a real HTTP server.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// secret is the carrier's shared secret in every test.
var secret = []byte("logistics-test-secret-0123")

type env struct {
	t       *testing.T
	db      *gorm.DB
	dialect database.Dialect
	dir     string // the SQLite database's directory; "" on MySQL
	keys    *gm.Keyring
	name    string // the carrier's name, unique per test
	svc     *logistics.Service
	sb      *sandbox.Sandbox
	sbSrv   *httptest.Server
	hookSrv *httptest.Server
	client  *carrier.Client

	mu       sync.Mutex
	notified []string // waybill/status of each OnStatus call

	caseIDs []uint64
}

// forEachDB runs f once per database backend.
func forEachDB(t *testing.T, f func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		f(t, newEnv(t, "sqlite://"+filepath.Join(dir, "l.db"), dir))
	})
	t.Run("mysql", func(t *testing.T) {
		dsn := os.Getenv("TEST_MYSQL_DSN")
		if dsn == "" {
			t.Skip("TEST_MYSQL_DSN not set")
		}
		f(t, newEnv(t, "mysql://"+dsn, ""))
	})
}

func randomID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return 1_000_000_000 + binary.BigEndian.Uint64(b[:])%1_000_000_000_000
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newEnv(t *testing.T, dsn, dir string) *env {
	t.Helper()
	db, dialect, err := database.Open(database.Config{DSN: dsn, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(append([]any{&models.Case{}}, models.LogisticsTables...)...); err != nil {
		t.Fatal(err)
	}
	keys, err := gm.NewKeyring(gm.GenerateKey(16), gm.GenerateKey(gm.HMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, dialect: dialect, dir: dir, keys: keys, name: "t" + randomHex(6)}
	// The webhook server comes first: the sandbox needs its URL, and it
	// serves the service made below.
	e.hookSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.svc.WebhookHandler().ServeHTTP(w, r)
	}))
	e.sb = sandbox.New(sandbox.Config{Secret: secret, WebhookURL: e.hookSrv.URL + logistics.WebhookPath, RetryWait: time.Millisecond, Logger: quiet})
	e.sbSrv = httptest.NewServer(e.sb)
	e.client = carrier.NewClient(e.sbSrv.URL, secret, nil)
	e.svc = e.service(e.client)
	t.Cleanup(func() {
		e.sbSrv.Close()
		e.hookSrv.Close()
		if dialect == database.MySQL {
			e.cleanMySQL()
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return e
}

// service is a logistics service on e's database and keys with another
// carrier client.
func (e *env) service(c carrier.Carrier) *logistics.Service {
	svc, err := logistics.New(e.db, e.keys, logistics.Config{Carrier: c, CarrierName: e.name, WebhookSecret: secret, Logger: quiet,
		OnStatus: func(_ context.Context, sh *models.Shipment) {
			e.mu.Lock()
			e.notified = append(e.notified, sh.WaybillNo+"/"+sh.Status)
			e.mu.Unlock()
		}})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// cleanMySQL deletes this test's rows from the shared database.
func (e *env) cleanMySQL() {
	var ids []uint64
	e.db.Model(&models.Shipment{}).Where("carrier = ?", e.name).Pluck("id", &ids)
	if len(ids) > 0 {
		e.db.Where("shipment_id IN ?", ids).Delete(&models.ShipmentEvent{})
		e.db.Where("id IN ?", ids).Delete(&models.Shipment{})
	}
	e.db.Where("carrier = ?", e.name).Delete(&models.CarrierWebhookRejection{})
	if len(e.caseIDs) > 0 {
		e.db.Where("id IN ?", e.caseIDs).Delete(&models.Case{})
	}
}

// newCase creates a case of a user at an agency in a status.
func (e *env) newCase(userID, agencyID uint64, status cases.Status) *models.Case {
	e.t.Helper()
	now := time.Now().UTC()
	c := &models.Case{Number: "LT" + randomHex(8), UserID: userID, MatterID: 1, AgencyID: agencyID, Status: string(status), CreatedAt: now, UpdatedAt: now}
	if err := e.db.Create(c).Error; err != nil {
		e.t.Fatal(err)
	}
	e.caseIDs = append(e.caseIDs, c.ID)
	return c
}

// The parties of the tests; their values are searched for in the database
// file.
const (
	senderName    = "张三丰"
	senderPhone   = "13812345678"
	senderAddress = "朝阳路100号幸福小区3单元502"
	hallName      = "朝阳区政务服务中心收件窗口"
	hallPhone     = "010-65090000"
	hallAddress   = "朝阳路200号一层收件窗口"
)

func materials(caseID uint64) logistics.Input {
	return logistics.Input{CaseID: caseID, Direction: logistics.MaterialsToHall,
		Sender:   logistics.Party{Name: senderName, Phone: senderPhone, RegionCode: "110105", Address: senderAddress},
		Receiver: logistics.Party{Name: hallName, Phone: hallPhone, RegionCode: "110105", Address: hallAddress}}
}

func result(caseID uint64) logistics.Input {
	return logistics.Input{CaseID: caseID, Direction: logistics.ResultToUser,
		Sender:   logistics.Party{Name: hallName, Phone: hallPhone, RegionCode: "110105", Address: hallAddress},
		Receiver: logistics.Party{Name: senderName, Phone: senderPhone, RegionCode: "110105", Address: senderAddress}}
}

// advance moves a waybill one step (or to status) through the sandbox's
// API; the sandbox delivers the webhook before answering.
func (e *env) advance(no, status, description string) sandbox.AdvanceResult {
	e.t.Helper()
	var out sandbox.AdvanceResult
	var in any
	if status != "" || description != "" {
		in = sandbox.AdvanceRequest{Status: status, Description: description}
	}
	if err := e.client.Call(context.Background(), http.MethodPost, "/v1/waybills/"+no+"/advance", in, &out); err != nil {
		e.t.Fatalf("advance %s: %v", no, err)
	}
	if !out.Delivery.Delivered {
		e.t.Fatalf("advance %s: webhook not delivered: %+v", no, out.Delivery)
	}
	return out
}

// post sends a webhook body to the service over HTTP, signed at ts with
// key (nil: no signature headers); it returns the status and the answer.
func (e *env) post(body []byte, ts time.Time, key []byte) (int, map[string]string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.hookSrv.URL+logistics.WebhookPath, bytes.NewReader(body))
	if key != nil {
		carrier.SignWebhook(req.Header, key, body, ts)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// event is a webhook body.
func event(id, waybill, status string, at time.Time) []byte {
	b, _ := json.Marshal(carrier.Event{EventID: id, WaybillNo: waybill, Status: status, Description: "测试轨迹", Location: "北京", OccurredAt: at})
	return b
}

func (e *env) shipment(id uint64) *models.Shipment {
	e.t.Helper()
	var sh models.Shipment
	if err := e.db.Take(&sh, id).Error; err != nil {
		e.t.Fatal(err)
	}
	return &sh
}

func (e *env) count(model any, where string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Model(model).Where(where, args...).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) notifications() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.notified...)
}

// rejections are this test's rejected webhooks' reasons, oldest first.
func (e *env) rejections() []models.CarrierWebhookRejection {
	e.t.Helper()
	var out []models.CarrierWebhookRejection
	if err := e.db.Where("carrier = ?", e.name).Order("id").Find(&out).Error; err != nil {
		e.t.Fatal(err)
	}
	return out
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return models.ErrorCode(err)
}
