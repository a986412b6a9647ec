package cases

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
)

// MaxFileBytes bounds one uploaded material.
const MaxFileBytes = 10 << 20

// maxFilesPerCase bounds the materials of one case.
const maxFilesPerCase = 50

// allowedTypes are the kinds of material accepted, as sniffed from the
// content: scans and photos of documents, and PDF.
var allowedTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// uploadable are the statuses in which the applicant may add materials.
var uploadable = []Status{Draft, Submitted, NeedsSupplement}

// Files stores and serves the materials of cases under dir.
type Files struct {
	db  *gorm.DB
	dir string
}

// NewFiles returns the case file store under dir (created if missing).
func NewFiles(db *gorm.DB, dir string) (*Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create file store: %w", err)
	}
	return &Files{db: db, dir: dir}, nil
}

// Store saves a material for one of the user's cases. The content is read
// once: hashed with SM3, its type sniffed from its first bytes, and written
// to a temporary file that becomes <dir>/<sm3> (the same content is kept
// once). Too large, of a type not accepted, or for a case that does not
// take materials now: BAD_USER_INPUT (CONFLICT for the case's status), and
// nothing kept.
func (f *Files) Store(ctx context.Context, userID, caseID uint64, name string, content io.Reader) (*models.CaseFile, error) {
	var c models.Case
	if err := f.db.WithContext(ctx).Where("id = ? AND user_id = ?", caseID, userID).First(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	if err := f.admits(f.db.WithContext(ctx), &c); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(f.dir, "upload-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	defer tmp.Close()
	br := bufio.NewReaderSize(content, 512)
	head, _ := br.Peek(512)
	kind := http.DetectContentType(head)
	if i := strings.IndexByte(kind, ';'); i >= 0 {
		kind = kind[:i]
	}
	if !slices.Contains(allowedTypes, kind) {
		return nil, models.InvalidField("file", "只能上传 PDF、JPEG 或 PNG 格式的材料。")
	}
	h := sm3.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(br, MaxFileBytes+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || n > MaxFileBytes {
		return nil, models.InvalidField("file", fmt.Sprintf("单份材料不能超过%d MB。", MaxFileBytes>>20))
	}
	if err != nil {
		// The client went away or sent a broken body: nothing is kept.
		return nil, models.InvalidField("file", "材料上传中断，请重新上传。")
	}
	if n == 0 {
		return nil, models.InvalidField("file", "材料是空的。")
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	digest := fmt.Sprintf("%x", h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(f.dir, digest)); err != nil {
		return nil, err
	}
	row := &models.CaseFile{CaseID: caseID, UserID: userID, Name: cleanName(name), ContentType: kind, Size: n, SM3: digest, CreatedAt: time.Now().UTC()}
	// The case's status and file count are checked again with the row
	// insert, holding the case row: uploads racing each other, or staff
	// accepting the case meanwhile, cannot pass the limits.
	err = database.Transaction(ctx, f.db, func(tx *gorm.DB) error {
		q := tx.Where("id = ? AND user_id = ?", caseID, userID)
		if tx.Dialector.Name() == "mysql" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var c models.Case
		if err := q.First(&c).Error; err != nil {
			return err
		}
		if err := f.admits(tx, &c); err != nil {
			return err
		}
		return tx.Create(row).Error
	})
	if err != nil {
		return nil, err // the content stays: it may be another row's too
	}
	return row, nil
}

// admits checks a case takes another material: its status allows it and it
// holds fewer than maxFilesPerCase.
func (f *Files) admits(db *gorm.DB, c *models.Case) error {
	if !slices.Contains(uploadable, Status(c.Status)) {
		return models.Errorf(models.ECodeConflict, "办件当前状态为“%s”，不能再上传材料。", Status(c.Status).Label())
	}
	var count int64
	if err := db.Model(&models.CaseFile{}).Where("case_id = ?", c.ID).Count(&count).Error; err != nil {
		return err
	}
	if count >= maxFilesPerCase {
		return models.InvalidField("file", fmt.Sprintf("每件申请最多上传%d份材料。", maxFilesPerCase))
	}
	return nil
}

// Viewer is who asks for a file: a citizen (UserID) or an agency's staff
// member (AgencyID).
type Viewer struct {
	UserID   uint64
	AgencyID uint64
}

// Open returns a material and its content, to the case's applicant or the
// staff of the case's agency; to anyone else NOT_FOUND.
func (f *Files) Open(ctx context.Context, who Viewer, fileID uint64) (*models.CaseFile, *os.File, error) {
	var row models.CaseFile
	q := f.db.WithContext(ctx).Model(&models.CaseFile{}).Select("case_files.*").
		Joins("JOIN cases ON cases.id = case_files.case_id").Where("case_files.id = ?", fileID)
	switch {
	case who.UserID != 0:
		q = q.Where("cases.user_id = ?", who.UserID)
	case who.AgencyID != 0:
		q = q.Where("cases.agency_id = ? AND cases.status <> ?", who.AgencyID, string(Draft))
	default:
		return nil, nil, errFileNotFound
	}
	if err := q.First(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, errFileNotFound
	} else if err != nil {
		return nil, nil, err
	}
	fh, err := os.Open(filepath.Join(f.dir, row.SM3))
	if err != nil {
		return nil, nil, fmt.Errorf("open stored file %d: %w", row.ID, err)
	}
	return &row, fh, nil
}

// List is a case's materials, oldest first; the caller has checked the case
// may be seen.
func (f *Files) List(ctx context.Context, caseID uint64) ([]*models.CaseFile, error) {
	all, err := f.ByCase(ctx, []uint64{caseID})
	if err != nil {
		return nil, err
	}
	return all[0], nil
}

// ByCase loads the materials of many cases in one statement, in the order
// of ids (for the per-request dataloader).
func (f *Files) ByCase(ctx context.Context, ids []uint64) ([][]*models.CaseFile, error) {
	return byCase(ctx, f.db, ids, func(r *models.CaseFile) uint64 { return r.CaseID })
}

var errFileNotFound = models.Errorf(models.ECodeNotFound, "没有找到这份材料。")

// cleanName keeps a file name fit to show and to send back: the base name,
// printable, at most 100 characters.
func cleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) || r == '"' || r == '/' {
			return -1
		}
		return r
	}, name)
	if !utf8.ValidString(name) || name == "." || strings.TrimSpace(name) == "" {
		return "材料"
	}
	if r := []rune(name); len(r) > 100 {
		name = string(r[len(r)-100:])
	}
	return name
}
