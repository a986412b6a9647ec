package exchange_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorm.io/gorm"

	"govmobile/catalogue"
	"govmobile/catalogue/exchange"
	"govmobile/database"
	"govmobile/models"
)

// template is a migrated SQLite database holding GB/T 2260 and the demo
// catalogue (300 matters, 144 agencies, 18 halls, 65 themes), built once;
// each test works on a copy.
var template string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "exchange-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	template = filepath.Join(dir, "template.db")
	if err := buildTemplate(template); err != nil {
		fmt.Fprintln(os.Stderr, "build template database:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func buildTemplate(path string) error {
	ctx := context.Background()
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + path, Logger: quiet})
	if err != nil {
		return err
	}
	if _, _, err := database.Migrate(ctx, db); err != nil {
		return err
	}
	if _, err := catalogue.SeedRegions(ctx, db); err != nil {
		return err
	}
	svc, err := catalogue.New(ctx, db)
	if err != nil {
		return err
	}
	if _, err := svc.SeedDemo(ctx); err != nil {
		return err
	}
	// The seed's own outbox rows are not the import's.
	if err := db.Where("1 = 1").Delete(&models.SearchOutbox{}).Error; err != nil {
		return err
	}
	sqlDB, _ := db.DB()
	return sqlDB.Close() // checkpoints the WAL into the file
}

// newDB opens a fresh copy of the template database.
func newDB(t testing.TB) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.db")
	b, err := os.ReadFile(template)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + path, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

func export(t testing.TB, db *gorm.DB, kind exchange.Kind, format exchange.Format, scope exchange.Scope) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := exchange.Export(context.Background(), db, kind, format, scope, &buf); err != nil {
		t.Fatalf("export %s %s: %v", kind, format, err)
	}
	return buf.Bytes()
}

func importFile(t testing.TB, db *gorm.DB, kind exchange.Kind, format exchange.Format, data []byte, opts exchange.Options) *exchange.Report {
	t.Helper()
	rep, err := exchange.Import(context.Background(), db, kind, format, bytes.NewReader(data), opts)
	if err != nil {
		t.Fatalf("import %s %s: %v", kind, format, err)
	}
	return rep
}

// jsonFile builds a JSON import file of items.
func jsonFile(kind exchange.Kind, items ...any) []byte {
	b, err := json.Marshal(map[string]any{"kind": kind, "version": 1, "items": items})
	if err != nil {
		panic(err)
	}
	return b
}

// csvFile joins lines with CRLF.
func csvFile(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

// catalogueCounts counts what an import may write.
type catalogueCounts struct {
	Agencies, Halls, Matters, Guides, Themes, HallLinks, Outbox int64
}

func counts(t testing.TB, db *gorm.DB) catalogueCounts {
	t.Helper()
	var c catalogueCounts
	for _, x := range []struct {
		model any
		n     *int64
	}{
		{&models.Agency{}, &c.Agencies}, {&models.Hall{}, &c.Halls}, {&models.Matter{}, &c.Matters},
		{&models.MatterGuide{}, &c.Guides}, {&models.MatterTheme{}, &c.Themes}, {&models.MatterHall{}, &c.HallLinks},
		{&models.SearchOutbox{}, &c.Outbox},
	} {
		if err := db.Model(x.model).Count(x.n).Error; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// outbox lists the queued search documents of a kind.
func outbox(t testing.TB, db *gorm.DB, kind models.SearchDocKind) []uint64 {
	t.Helper()
	var ids []uint64
	if err := db.Model(&models.SearchOutbox{}).Where("kind = ?", kind).Order("entity_id").Pluck("entity_id", &ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

func matterByCode(t testing.TB, db *gorm.DB, code string) *models.Matter {
	t.Helper()
	var m models.Matter
	if err := db.Where("code = ?", code).Take(&m).Error; err != nil {
		t.Fatalf("matter %s: %v", code, err)
	}
	return &m
}

// wantCode asserts an application error's code.
func wantCode(t testing.TB, err error, code string) *models.Error {
	t.Helper()
	var e *models.Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	return e
}

// hasError reports whether the report names the row and field with a
// message containing want.
func hasError(rep *exchange.Report, row int, field, want string) bool {
	for _, e := range rep.Errors {
		if e.Row == row && e.Field == field && strings.Contains(e.Message, want) {
			return true
		}
	}
	return false
}

// a matter the tests create, on the demo catalogue's 杭州 agencies, themes
// and halls.
func newMatter(code string) map[string]any {
	return map[string]any{
		"code": code, "name": "测试事项" + code, "aliases": []string{"测试"}, "summary": "用于测试导入的事项。",
		"nature": "行政许可", "serviceObjects": []string{"NATURAL_PERSON", "法人"}, "level": "COUNTY",
		"agencyCode": "330106-COUNTY-police", "regionCode": "330106", "onlineDepth": 3,
		"themes": []string{"NP_ID"},
		"halls":  []map[string]string{{"regionCode": "330106", "name": "杭州市西湖区行政服务中心"}},
		"guide": map[string]any{
			"conditions":         []string{"年满16周岁"},
			"materials":          []map[string]any{{"name": "身份证", "form": "原件", "copies": 1, "required": true, "note": ""}},
			"process":            []map[string]any{{"name": "受理", "description": "窗口受理"}, {"name": "办结", "description": "当场办结"}},
			"legalTimeLimitDays": 20, "promisedTimeLimitDays": 5, "fees": []any{}, "legalBasis": []string{"《测试条例》"},
			"consultPhone": "0571-12345", "windowVisits": 1,
		},
	}
}
