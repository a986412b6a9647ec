package cases

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"govmobile/database"
	"govmobile/models"
)

// TestSweep: content no row names is removed once a day old; content a
// row names, and fresh content, stay; stale temporary files go.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(dir, "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	f, err := NewFiles(db, filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour)
	write := func(name string, at time.Time) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, at, at)
		return p
	}
	kept := write(strings.Repeat("a", 64), old)
	keptApp := write(strings.Repeat("c", 64), old)
	orphan := write(strings.Repeat("b", 64), old)
	fresh := write(strings.Repeat("d", 64), time.Now())
	temp := write("upload-123", old)
	db.Create(&models.CaseFile{CaseID: 1, UserID: 1, Name: "a.pdf", ContentType: "application/pdf", Size: 1, SM3: strings.Repeat("a", 64), CreatedAt: time.Now()})
	db.Create(&models.AppFile{AppID: 1, Kind: "ICON", Name: "i.png", ContentType: "image/png", Size: 1, SM3: strings.Repeat("c", 64), UploadedBy: 1, CreatedAt: time.Now()})
	n, err := f.Sweep(ctx, time.Now())
	if err != nil || n != 2 {
		t.Fatalf("removed %d: %v", n, err)
	}
	for p, want := range map[string]bool{kept: true, keptApp: true, fresh: true, orphan: false, temp: false} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
