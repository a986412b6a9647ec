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
// shared, so each test uses its own random user, agency, matter and
// carrier name and deletes only its own rows). Each test's cases are of
// one matter handled at one hall (e.hall), where materials are mailed. The carrier is the sandbox on loopback,
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

	// matterID is the matter of the cases newCase makes, linked to hall.
	matterID uint64
	hall     *models.Hall
	// applicants are the names ApplicantNames gives per user; a user not
	// in it is the applicant senderName.
	applicants map[uint64][]string

	caseIDs, hallIDs, agencyIDs, matterIDs []uint64
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
	if err := db.AutoMigrate(append([]any{&models.Case{}, &models.Hall{}, &models.MatterHall{}, &models.Agency{}}, models.LogisticsTables...)...); err != nil {
		t.Fatal(err)
	}
	keys, err := gm.NewKeyring(gm.GenerateKey(16), gm.GenerateKey(gm.HMACKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, dialect: dialect, dir: dir, keys: keys, name: "t" + randomHex(6), applicants: map[uint64][]string{}}
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
// carrier client; tweak, if given, changes its configuration.
func (e *env) service(c carrier.Carrier, tweak ...func(*logistics.Config)) *logistics.Service {
	cfg := logistics.Config{Carrier: c, CarrierName: e.name, WebhookSecret: secret, Logger: quiet,
		OnStatus: func(_ context.Context, sh *models.Shipment) {
			e.mu.Lock()
			e.notified = append(e.notified, sh.WaybillNo+"/"+sh.Status)
			e.mu.Unlock()
		},
		ApplicantNames: func(_ context.Context, userID uint64) ([]string, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if names, ok := e.applicants[userID]; ok {
				return names, nil
			}
			return []string{senderName}, nil
		}}
	for _, f := range tweak {
		f(&cfg)
	}
	svc, err := logistics.New(e.db, e.keys, cfg)
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
	if len(e.matterIDs) > 0 {
		e.db.Where("matter_id IN ?", e.matterIDs).Delete(&models.MatterHall{})
	}
	if len(e.hallIDs) > 0 {
		e.db.Where("id IN ?", e.hallIDs).Delete(&models.Hall{})
	}
	if len(e.agencyIDs) > 0 {
		e.db.Where("id IN ?", e.agencyIDs).Delete(&models.Agency{})
	}
}

// newCase creates a case of a user at an agency in a status, of the
// test's matter (handled at e.hall).
func (e *env) newCase(userID, agencyID uint64, status cases.Status) *models.Case {
	e.t.Helper()
	return e.newCaseOf(e.matter(), userID, agencyID, status)
}

// matter is the test's matter, linked to e.hall (made on first use).
func (e *env) matter() uint64 {
	e.t.Helper()
	if e.matterID == 0 {
		e.matterID = e.newMatter()
		e.hall = e.newHall(hallName, hallPhone, "110105", hallAddress)
		e.link(e.matterID, e.hall.ID)
	}
	return e.matterID
}

// newMatter is a matter ID of this test, linked to no hall yet (the
// matter's row is not needed).
func (e *env) newMatter() uint64 {
	id := randomID()
	e.matterIDs = append(e.matterIDs, id)
	return id
}

// newHall creates a service hall.
func (e *env) newHall(name, phone, region, address string) *models.Hall {
	e.t.Helper()
	h := &models.Hall{Name: name, Address: address, Lat: 39.92, Lng: 116.44, Phone: phone, OpeningHours: "周一至周五 9:00-17:00", RegionCode: region}
	if err := e.db.Create(h).Error; err != nil {
		e.t.Fatal(err)
	}
	e.hallIDs = append(e.hallIDs, h.ID)
	return h
}

// link records that a matter is handled at a hall.
func (e *env) link(matterID, hallID uint64) {
	e.t.Helper()
	if err := e.db.Create(&models.MatterHall{MatterID: matterID, HallID: hallID}).Error; err != nil {
		e.t.Fatal(err)
	}
}

// newAgency creates an agency of a region and returns its ID.
func (e *env) newAgency(region string) uint64 {
	e.t.Helper()
	a := &models.Agency{ID: randomID(), Code: "LT" + randomHex(8), Name: "测试部门", Level: models.LevelCounty, RegionCode: region}
	if err := e.db.Create(a).Error; err != nil {
		e.t.Fatal(err)
	}
	e.agencyIDs = append(e.agencyIDs, a.ID)
	return a.ID
}

// newCaseOf creates a case of a matter.
func (e *env) newCaseOf(matterID, userID, agencyID uint64, status cases.Status) *models.Case {
	e.t.Helper()
	now := time.Now().UTC()
	c := &models.Case{Number: "LT" + randomHex(8), UserID: userID, MatterID: matterID, AgencyID: agencyID, Status: string(status), CreatedAt: now, UpdatedAt: now}
	if err := e.db.Create(c).Error; err != nil {
		e.t.Fatal(err)
	}
	e.caseIDs = append(e.caseIDs, c.ID)
	return c
}

// The parties of the tests; the applicant's values are searched for in
// the database file (the hall's are public, in the halls table).
const (
	senderName    = "张三丰"
	senderPhone   = "13812345678"
	senderAddress = "朝阳路100号幸福小区3单元502"
	hallName      = "朝阳区政务服务中心收件窗口"
	hallPhone     = "010-65090000"
	hallAddress   = "朝阳路200号一层收件窗口"
)

// materials mails a case's materials to the test's hall.
func (e *env) materials(caseID uint64) logistics.Input {
	e.t.Helper()
	e.matter()
	return logistics.Input{CaseID: caseID, Direction: logistics.MaterialsToHall, HallID: e.hall.ID,
		Sender: logistics.Party{Name: senderName, Phone: senderPhone, RegionCode: "110105", Address: senderAddress}}
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
