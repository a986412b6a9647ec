package app_test

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"govmobile/app"
	"govmobile/models"
)

// TestUploadDiskFull (issue 9): the uploads' disk fills up. The upload that
// does not fit is answered with a clear Chinese sentence and a stable code
// (UNAVAILABLE, 503: the client may try again later), not a 500 and not
// "your upload was interrupted"; nothing of it is left on disk and no row
// names it; once space is freed, uploads succeed again without a restart.
//
// The file store (<data dir>/files) is a 2 MB tmpfs, mounted before the
// server starts: this needs root on Linux, and is skipped elsewhere.
func TestUploadDiskFull(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs for the file store needs root on Linux")
	}
	var mountErr error
	var filesDir string
	b, err := newApp("sqlite", func(c *app.Config) {
		filesDir = filepath.Join(c.DataDir, "files")
		if mountErr = os.MkdirAll(filesDir, 0o700); mountErr != nil {
			return
		}
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", filesDir).CombinedOutput()
		if err != nil {
			mountErr = &mountError{string(out), err}
		}
	})
	if mountErr != nil {
		if b != nil {
			b.srv.Close()
			b.app.Close()
			os.RemoveAll(b.dir)
		}
		t.Skipf("cannot mount a tmpfs for the file store: %v", mountErr)
	}
	if err != nil {
		exec.Command("umount", filesDir).Run()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.srv.Close()
		b.app.Close()
		if out, err := exec.Command("umount", filesDir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", filesDir, err, out)
		}
		os.RemoveAll(b.dir)
	})

	var m models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
		t.Fatal(err)
	}
	citizen := b.register(t, person(t)).Ticket
	var d struct{ SaveApplicationDraft struct{ Case caseOut } }
	b.gql(t, citizen, `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id } } }`,
		map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &d)
	caseID := d.SaveApplicationDraft.Case.ID

	// Distinct 300 KB scans until one does not fit.
	scan := func() []byte {
		body := make([]byte, 300<<10)
		_, _ = rand.Read(body)
		return append(append([]byte{}, pdfBytes...), body...)
	}
	stored := 0
	var full uploadResult
	for i := 0; i < 20; i++ {
		up := b.upload(t, citizen, caseID, "扫描件.pdf", scan())
		if up.Status == 200 {
			stored++
			continue
		}
		full = up
		break
	}
	rows := countRows(t, b, &models.CaseFile{}, "case_id = ?", mustKey(t, caseID))
	left := leftovers(t, filesDir)
	t.Logf("disk full: %d uploads of 300 KB stored on a 2 MB disk; the next answered HTTP %d %+v; %d rows, %d files on disk, temporary files left: %v",
		stored, full.Status, full.Errors, rows, len(storedFiles(t, filesDir)), left)
	if stored == 0 || full.Status == 0 {
		t.Fatalf("the disk never filled: %d stored", stored)
	}
	if full.Status >= 500 && full.Status != 503 && full.Status != 507 || full.Status < 400 {
		t.Errorf("a full disk answered HTTP %d", full.Status)
	}
	if len(full.Errors) == 0 || full.Errors[0].Extensions["code"] != models.ECodeUnavailable || !hasHan(full.Errors[0].Message) ||
		!strings.Contains(full.Errors[0].Message, "存储空间") {
		t.Errorf("a full disk answered %+v, want UNAVAILABLE saying storage is full", full.Errors)
	}
	if rows != int64(stored) {
		t.Errorf("%d rows for %d stored files", rows, stored)
	}
	if len(left) > 0 {
		t.Errorf("partial files left behind: %v", left)
	}
	if n := len(storedFiles(t, filesDir)); n != stored {
		t.Errorf("%d files on disk for %d stored uploads", n, stored)
	}

	// Space is freed (the volume grown): uploads succeed again.
	if out, err := exec.Command("mount", "-o", "remount,size=8m", filesDir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v %s", err, out)
	}
	if up := b.upload(t, citizen, caseID, "扫描件.pdf", scan()); up.Status != 200 {
		t.Fatalf("upload after space was freed: %+v", up)
	}
	if n := countRows(t, b, &models.CaseFile{}, "case_id = ?", mustKey(t, caseID)); n != int64(stored)+1 {
		t.Errorf("%d rows after space was freed, want %d", n, stored+1)
	}
	t.Logf("after space was freed: upload stored, %d files on disk", len(storedFiles(t, filesDir)))
}

type mountError struct {
	out string
	err error
}

func (e *mountError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.out) }

// leftovers are the temporary upload files in the store.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "upload-*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// storedFiles are the files kept under their digest.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "upload-") {
			out = append(out, e.Name())
		}
	}
	return out
}
