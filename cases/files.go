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
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/models"
)

// MaxFileBytes bounds one uploaded file.
const MaxFileBytes = 10 << 20

// allowedTypes are the kinds of file accepted, as sniffed from the content:
// scans and photos of documents, and PDF.
var allowedTypes = []string{"application/pdf", "image/jpeg", "image/png"}

// Files stores and serves the files of cases under dir.
type Files struct {
	// OnResult, when set, runs in the transaction that stores a result
	// document (the app seals it with the agency's seal): its error undoes
	// the upload.
	OnResult func(tx *gorm.DB, agencyID uint64, f *models.CaseFile) error

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

// Viewer is who uploads or asks for a file: a citizen (UserID), or a staff
// member (StaffID) of an agency (AgencyID).
type Viewer struct {
	UserID   uint64
	AgencyID uint64
	StaffID  uint64
}

// An upload rule says which files of a case a viewer adds: their kind, the
// statuses in which the case takes them, and how many it holds at most.
type uploadRule struct {
	kind     string
	statuses []Status
	max      int64
}

var (
	// The applicant adds materials until the agency accepts the case, and
	// when asked to supply more.
	materialRule = uploadRule{models.CaseFileMaterial, []Status{Draft, Submitted, NeedsSupplement}, 50}
	// The agency's staff add result documents while they handle the case.
	resultRule = uploadRule{models.CaseFileResult, []Status{Accepted, Processing}, 10}
)

// Store saves a file for a case: a material for the applicant's own case,
// or a result document for a case of the staff member's agency. The content
// is read once: hashed with SM3, its type sniffed from its first bytes, and
// written to a temporary file that becomes <dir>/<sm3> (the same content is
// kept once). Too large, of a type not accepted, or for a case that does
// not take such files now: BAD_USER_INPUT (CONFLICT for the case's status),
// and nothing kept. A case the viewer may not see is NOT_FOUND.
func (f *Files) Store(ctx context.Context, who Viewer, caseID uint64, name string, content io.Reader) (*models.CaseFile, error) {
	rule, load := materialRule, func(db *gorm.DB) *gorm.DB { return db.Where("id = ? AND user_id = ?", caseID, who.UserID) }
	switch {
	case who.UserID != 0:
	case who.AgencyID != 0 && who.StaffID != 0:
		rule, load = resultRule, func(db *gorm.DB) *gorm.DB {
			return db.Where("id = ? AND agency_id = ? AND status <> ?", caseID, who.AgencyID, string(Draft))
		}
	default:
		return nil, errNotFound
	}
	var c models.Case
	if err := load(f.db.WithContext(ctx)).First(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	if err := rule.admits(f.db.WithContext(ctx), &c); err != nil {
		return nil, err
	}
	kept, err := f.Keep(content)
	if err != nil {
		return nil, err
	}
	row := &models.CaseFile{CaseID: caseID, UserID: c.UserID, Kind: rule.kind, StaffID: who.StaffID, Name: CleanName(name),
		ContentType: kept.Type, Size: kept.Size, SM3: kept.SM3, CreatedAt: time.Now().UTC()}
	// The case's status and file count are checked again with the row
	// insert, holding the case row: uploads racing each other, or the case
	// moving on meanwhile, cannot pass the limits.
	err = database.Transaction(ctx, f.db, func(tx *gorm.DB) error {
		q := load(tx)
		if tx.Dialector.Name() == "mysql" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var c models.Case
		if err := q.First(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound // a draft deleted while its file arrived
		} else if err != nil {
			return err
		}
		if err := rule.admits(tx, &c); err != nil {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		if rule.kind == models.CaseFileResult && f.OnResult != nil {
			return f.OnResult(tx, c.AgencyID, row)
		}
		return nil
	})
	if err != nil {
		return nil, err // the content stays: it may be another row's too
	}
	return row, nil
}

// Kept is content in the store: its sniffed type, size and SM3 digest,
// under which it is kept.
type Kept struct {
	Type string
	Size int64
	SM3  string
}

// Keep reads content into the store under the upload rules shared by every
// kind of file (10 MB, PDF, JPEG or PNG by content, not empty); anything
// else is BAD_USER_INPUT and nothing is kept.
func (f *Files) Keep(content io.Reader) (*Kept, error) {
	return f.KeepAs(content, materialContent)
}

// Rule is what a kind of stored content may be: its largest size, and its
// types as sniffed from the content (TypesText names them for messages).
type Rule struct {
	MaxBytes  int64
	Types     []string
	TypesText string
}

// materialContent is what case materials and attachments may be.
var materialContent = Rule{MaxBytes: MaxFileBytes, Types: allowedTypes, TypesText: "PDF、JPEG 或 PNG"}

// KeepAs reads content into the store under rule; anything else is
// BAD_USER_INPUT and nothing is kept.
func (f *Files) KeepAs(content io.Reader, rule Rule) (*Kept, error) {
	kind, size, digest, err := f.keep(content, rule)
	if err != nil {
		return nil, err
	}
	return &Kept{Type: kind, Size: size, SM3: digest}, nil
}

// Content opens stored content by its digest.
func (f *Files) Content(digest string) (*os.File, error) {
	return os.Open(filepath.Join(f.dir, digest))
}

func (f *Files) keep(content io.Reader, rule Rule) (kind string, size int64, digest string, err error) {
	tmp, err := os.CreateTemp(f.dir, "upload-*")
	if err != nil {
		return "", 0, "", storageError(err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	defer tmp.Close()
	br := bufio.NewReaderSize(content, 512)
	head, _ := br.Peek(512)
	kind = http.DetectContentType(head)
	if i := strings.IndexByte(kind, ';'); i >= 0 {
		kind = kind[:i]
	}
	if !slices.Contains(rule.Types, kind) {
		return "", 0, "", models.InvalidField("file", "只能上传 "+rule.TypesText+" 格式的文件。")
	}
	h := sm3.New()
	out := &recordingWriter{w: tmp}
	size, err = io.Copy(io.MultiWriter(out, h), io.LimitReader(br, rule.MaxBytes+1))
	if out.err != nil {
		// The store failed, not the client (a full disk): nothing is kept.
		return "", 0, "", storageError(out.err)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || size > rule.MaxBytes {
		return "", 0, "", models.InvalidField("file", fmt.Sprintf("单个文件不能超过%d MB。", rule.MaxBytes>>20))
	}
	if err != nil {
		// The client went away or sent a broken body: nothing is kept.
		return "", 0, "", models.InvalidField("file", "文件上传中断，请重新上传。")
	}
	if size == 0 {
		return "", 0, "", models.InvalidField("file", "文件是空的。")
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, "", storageError(err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, "", storageError(err)
	}
	digest = fmt.Sprintf("%x", h.Sum(nil))
	if err := os.Rename(tmp.Name(), filepath.Join(f.dir, digest)); err != nil {
		return "", 0, "", storageError(err)
	}
	return kind, size, digest, nil
}

// recordingWriter keeps the error of its writer, so that a failure to
// store (the server's) is told from a failure to read the upload (the
// client's), which io.Copy reports alike.
type recordingWriter struct {
	w   io.Writer
	err error
}

func (r *recordingWriter) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

// errStorageFull answers an upload the store has no room for: the client
// may send it again later (issue 9: a full disk for uploads).
var errStorageFull = models.Errorf(models.ECodeUnavailable, "服务器存储空间已满，暂时无法保存文件，请稍后再试。")

// storageError is a failure of the store: a full disk or quota is
// UNAVAILABLE, anything else internal.
func storageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return errStorageFull
	}
	return fmt.Errorf("store file: %w", err)
}

// admits checks a case takes another file of the rule's kind: its status
// allows it and it holds fewer than the rule's maximum.
func (r uploadRule) admits(db *gorm.DB, c *models.Case) error {
	if !slices.Contains(r.statuses, Status(c.Status)) {
		what := "材料"
		if r.kind == models.CaseFileResult {
			what = "办理结果文件"
		}
		return models.Errorf(models.ECodeConflict, "办件当前状态为“%s”，不能上传%s。", Status(c.Status).Label(), what)
	}
	var count int64
	if err := db.Model(&models.CaseFile{}).Where("case_id = ? AND kind = ?", c.ID, r.kind).Count(&count).Error; err != nil {
		return err
	}
	if count >= r.max {
		return models.InvalidField("file", fmt.Sprintf("每件办件最多上传%d份这类文件。", r.max))
	}
	return nil
}

// hasResult reports whether a case holds a result document.
func hasResult(tx *gorm.DB, caseID uint64) (bool, error) {
	var n int64
	err := tx.Model(&models.CaseFile{}).Where("case_id = ? AND kind = ?", caseID, models.CaseFileResult).Count(&n).Error
	return n > 0, err
}

// Open returns a file of a case and its content, to the case's applicant
// or the staff of the case's agency; to anyone else NOT_FOUND.
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

// CleanName keeps a file name fit to show and to send back: the base name,
// printable, at most 100 characters.
func CleanName(name string) string {
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
