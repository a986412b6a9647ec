package app_test

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/database"
	"govmobile/models"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/release-N databases from this build")

// goldenRelease is the schema version whose database this build writes with
// -update-golden. Each release adds its own golden directory; they are never
// rewritten afterwards, so the upgrade test keeps proving that every earlier
// release's database opens in this one.
const goldenRelease = "release-6"

const goldenUser, goldenPassword = "golden_user", "Golden-Passw0rd!"

// TestUpgradeFromEveryRelease opens a copy of each earlier release's database
// (with its master key), migrates it to this build's schema, and checks that
// the catalogue and a user made by that release still work.
func TestUpgradeFromEveryRelease(t *testing.T) {
	if *updateGolden {
		writeGolden(t)
	}
	dirs, _ := filepath.Glob(filepath.Join("testdata", "release-*"))
	if len(dirs) == 0 {
		t.Fatal("no golden databases under testdata/")
	}
	for _, golden := range dirs {
		t.Run(filepath.Base(golden), func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"govmobile.db", "master.key"} {
				copyFile(t, filepath.Join(golden, f), filepath.Join(dir, f))
			}
			release, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(golden), "release-"))
			if release == 3 {
				// Release 3 kept case materials without a kind: one is added
				// as that release wrote it, and must read as a material.
				db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(dir, "govmobile.db")})
				if err != nil {
					t.Fatal(err)
				}
				if err := db.Exec(`INSERT INTO case_files (case_id, user_id, name, content_type, size, sm3, created_at) VALUES (424242, 1, 'a.pdf', 'application/pdf', 1, ?, ?)`,
					strings.Repeat("0", 64), time.Now().UTC()).Error; err != nil {
					t.Fatal(err)
				}
				if sqlDB, err := db.DB(); err == nil {
					sqlDB.Close()
				}
			}
			a, err := app.New(context.Background(), app.Config{DataDir: dir, Logger: quietLogger(), AdminPassword: "Admin-Test-123"})
			if err != nil {
				t.Fatalf("open %s: %v", golden, err)
			}
			if release == 3 {
				var f models.CaseFile
				if err := a.DB.Where("case_id = ?", 424242).First(&f).Error; err != nil || f.Kind != models.CaseFileMaterial || f.StaffID != 0 {
					t.Fatalf("a release-3 case file after upgrade: %+v %v", f, err)
				}
			}
			defer a.Close()
			if v, _ := database.CurrentVersion(a.DB); v != database.LatestVersion() {
				t.Fatalf("schema version %d after upgrade, want %d", v, database.LatestVersion())
			}
			b := &backend{name: "upgrade", app: a, srv: newTestServer(a)}
			defer b.srv.Close()
			var out struct{ Login authPayload }
			b.gql(t, "", `mutation($in: LoginInput!) { login(input: $in) { ticket user { realName } } }`,
				map[string]any{"in": map[string]any{"username": goldenUser, "password": goldenPassword}}).decode(t, &out)
			if out.Login.User.RealName == nil || *out.Login.User.RealName != "李**" {
				t.Fatalf("golden user after upgrade: %+v", out.Login.User)
			}
			// From release 4 the golden user has a draft with a material;
			// earlier releases' case_files rows gain their kind.
			var mine struct {
				MyCases struct {
					Edges []struct {
						Node struct {
							Status    string
							Materials []struct{ Name, Sm3 string }
							Results   []struct{ Name string }
						}
					}
				}
			}
			b.gql(t, out.Login.Ticket, `{ myCases { edges { node { status materials { name sm3 } results { name } } } } }`, nil).decode(t, &mine)
			if release >= 4 {
				if e := mine.MyCases.Edges; len(e) != 1 || e[0].Node.Status != "DRAFT" || len(e[0].Node.Materials) != 1 || len(e[0].Node.Results) != 0 {
					t.Fatalf("golden case after upgrade: %+v", mine.MyCases)
				}
			}
			c, r := b.matters(t, "", map[string]any{"first": 5})
			if len(r.Errors) > 0 || c.TotalCount == 0 {
				t.Fatalf("catalogue after upgrade: %s", r.Raw)
			}
			// The search index is built on the upgraded database, and a
			// release without apps or a knowledge base gets the demo ones.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := a.Search.WaitReady(ctx); err != nil {
				t.Fatal(err)
			}
			var sr struct {
				Search struct {
					TotalCount int
					Facets     []struct {
						Scope string
						Count int
					}
				}
			}
			b.gql(t, "", `{ search(query: "社保", first: 3) { totalCount facets { scope count } } }`, nil).decode(t, &sr)
			facets := map[string]int{}
			for _, f := range sr.Search.Facets {
				facets[f.Scope] = f.Count
			}
			if sr.Search.TotalCount == 0 || facets["APP"] == 0 || facets["KNOWLEDGE"] == 0 {
				t.Fatalf("search after upgrade: %+v", sr.Search)
			}
			// Halls already there reach the index (migration 4 queues them).
			var halls struct{ Search struct{ TotalCount int } }
			b.gql(t, "", `{ search(query: "政务服务中心", scope: HALL) { totalCount } }`, nil).decode(t, &halls)
			if halls.Search.TotalCount == 0 {
				t.Fatal("no hall is searchable after the upgrade")
			}
		})
	}
}

func writeGolden(t *testing.T) {
	dir := filepath.Join("testdata", goldenRelease)
	os.RemoveAll(dir)
	a, err := app.New(context.Background(), app.Config{DataDir: dir, Logger: quietLogger(), AdminPassword: "Admin-Test-123"})
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: "golden", app: a, srv: newTestServer(a)}
	in := person(t)
	in["username"], in["password"], in["realName"] = goldenUser, goldenPassword, "李四"
	ticket := b.register(t, in).Ticket
	var m models.Matter
	if err := a.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
		t.Fatal(err)
	}
	var d struct{ SaveApplicationDraft struct{ Case caseOut } }
	b.gql(t, ticket, `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id } } }`,
		map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &d)
	if up := b.upload(t, ticket, d.SaveApplicationDraft.Case.ID, "户口簿.pdf", pdfBytes); up.Status != 200 {
		t.Fatalf("golden material: %+v", up)
	}
	b.srv.Close()
	if err := a.DB.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
		t.Fatal(err)
	}
	a.DB.Exec("VACUUM")
	a.Close()
	// The golden keeps the database and the master key; the search index is
	// derived and rebuilt, and the material's content is not needed to list it.
	for _, f := range []string{"govmobile.db-wal", "govmobile.db-shm", "search", "search.new", "search.lock", "files"} {
		os.RemoveAll(filepath.Join(dir, f))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
}

// TestReplicasStartTogether: several replicas started at once on one fresh
// MySQL database all come up; one migrates and seeds, the others find it done.
func TestReplicasStartTogether(t *testing.T) {
	dsn := os.Getenv("TEST_MYSQL_DSN")
	if dsn == "" {
		t.Skip("TEST_MYSQL_DSN not set")
	}
	fresh, err := freshMySQL(dsn)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "master.key")
	const replicas = 3
	errs := make(chan error, replicas)
	apps := make(chan *app.App, replicas)
	for i := 0; i < replicas; i++ {
		go func() {
			// Replicas share the database and the master key, not the
			// data directory: each keeps its own search index.
			a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), MasterKeyFile: keyFile, DatabaseURL: "mysql://" + fresh, Logger: quietLogger(), AdminPassword: "Admin-Test-123"})
			errs <- err
			apps <- a
		}()
	}
	for i := 0; i < replicas; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("a replica failed to start: %v", err)
		}
		if a := <-apps; a != nil {
			defer a.Close()
		}
	}
}
