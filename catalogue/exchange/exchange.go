// Package exchange imports and exports the matter catalogue — agencies,
// halls, matters (with their guide, themes and halls by reference) and
// guides — as JSON and as CSV, so that a province can sync its catalogue
// with the platform (8.3.3 a, b).
//
// An import is all or nothing: every row is validated first, against the
// file and against the database, and if any row is invalid nothing is
// written and the report lists the invalid rows. A valid file is applied in
// one transaction that also queues every created or changed matter and hall
// for the search index. Exporting a scope and importing the file again
// changes nothing.
//
// It reads and writes through gorm. It must never know GraphQL or HTTP, never
// decide who may import (the caller passes the administrator's scope), and
// never touch rows outside the scope it is given. See README.md for the file
// layouts.
package exchange

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
)

// Kind is what a file holds.
type Kind string

// The kinds of catalogue data that can be exchanged.
const (
	// KindAgency rows are keyed by the agency's code.
	KindAgency Kind = "AGENCY"
	// KindHall rows are keyed by (regionCode, name): halls have no code.
	KindHall Kind = "HALL"
	// KindMatter rows are keyed by the matter's code and may carry its guide.
	KindMatter Kind = "MATTER"
	// KindGuide rows are keyed by the code of the guide's matter.
	KindGuide Kind = "GUIDE"
)

// Kinds lists every kind in the order a whole catalogue is imported:
// agencies and halls before the matters that name them.
var Kinds = []Kind{KindAgency, KindHall, KindMatter, KindGuide}

func (k Kind) valid() bool { return slices.Contains(Kinds, k) }

// Format is a file format.
type Format string

// The file formats.
const (
	JSON Format = "JSON"
	CSV  Format = "CSV"
)

func (f Format) valid() bool { return f == JSON || f == CSV }

// Version is the version of the JSON layout written by Export and the only
// one Import reads.
const Version = 1

// Limits of one import file.
const (
	MaxBytes  = 20 << 20
	MaxRows   = 50000
	MaxErrors = 1000
)

// Scope narrows an export, and bounds what an import may touch.
type Scope struct {
	// RegionPrefix is a region-code prefix ("33" for 浙江, "3301" for 杭州,
	// a full code for a county); empty is the whole country.
	RegionPrefix string
	// AgencyCode limits the scope to one agency's matters (and the agency
	// itself); empty is every agency.
	AgencyCode string
}

// Options tune an import.
type Options struct {
	// DryRun validates the file fully, including every database lookup, and
	// reports what would be created, updated and left unchanged, but writes
	// nothing.
	DryRun bool
	// Scope is the importing administrator's: a row outside it is invalid,
	// and so is a row whose key names an existing record outside it.
	Scope Scope
}

// Report is the outcome of an import.
type Report struct {
	Kind   Kind
	DryRun bool
	// Total counts the data rows (CSV) or items (JSON) of the file; Valid
	// those without any error.
	Total int
	Valid int
	// Created, Updated and Unchanged count the rows applied (or, on a dry
	// run, that would be); all are 0 when the file had an invalid row.
	Created   int
	Updated   int
	Unchanged int
	// Errors lists the problems of the invalid rows, by row, at most
	// MaxErrors of them; Truncated says that more were left out.
	Errors    []RowError
	Truncated bool
}

// Applied reports whether the import wrote to the catalogue: the caller must
// then refresh the catalogue's caches (catalogue.Service.Changed).
func (r *Report) Applied() bool {
	return !r.DryRun && len(r.Errors) == 0 && r.Created+r.Updated > 0
}

// RowError is one problem of one row.
type RowError struct {
	// Row is the 1-based data row of a CSV file (the header is not counted,
	// so row 1 is the spreadsheet's second line) or the 1-based index of an
	// item of a JSON file.
	Row int
	// Field is the column key (README.md), empty when the row as a whole is
	// at fault.
	Field string
	// Message is a Chinese sentence.
	Message string
}

// errBadInput is a file-level problem.
func errBadInput(format string, args ...any) error {
	return models.Errorf(models.ECodeBadUserInput, format, args...)
}

// Export writes the kind's records within scope to w in the format, in ID
// order, reading a page at a time. CSV starts with a UTF-8 byte-order mark
// (so that Excel reads it as UTF-8) and guards cells against formula
// injection.
func Export(ctx context.Context, db *gorm.DB, kind Kind, format Format, scope Scope, w io.Writer) error {
	if !kind.valid() {
		return errBadInput("不支持的数据类别。")
	}
	if !format.valid() {
		return errBadInput("不支持的文件格式，请选择 JSON 或 CSV。")
	}
	q := db.WithContext(ctx)
	sc, err := resolveScope(q, scope)
	if err != nil {
		return err
	}
	if sc.agencyID != 0 && kind == KindHall {
		return models.Errorf(models.ECodeForbidden, "服务大厅不属于某一实施主体，请按行政区划导出。")
	}
	out, err := newWriter(kind, format, w)
	if err != nil {
		return err
	}
	switch kind {
	case KindAgency:
		err = exportAgencies(q, sc, out)
	case KindHall:
		err = exportHalls(q, sc, out)
	case KindMatter:
		err = exportMatters(q, sc, out, true)
	case KindGuide:
		err = exportMatters(q, sc, out, false)
	}
	if err != nil {
		return err
	}
	return out.close()
}

// Import reads a file of the kind in the format, validates every row and,
// unless opts.DryRun or a row is invalid, applies it in one transaction.
// File-level problems (too large, too many rows, not the kind, unreadable)
// are BAD_USER_INPUT errors; row problems are in the report. After an
// applied import (Report.Applied) the caller must call
// catalogue.Service.Changed.
func Import(ctx context.Context, db *gorm.DB, kind Kind, format Format, r io.Reader, opts Options) (*Report, error) {
	if !kind.valid() {
		return nil, errBadInput("不支持的数据类别。")
	}
	if !format.valid() {
		return nil, errBadInput("不支持的文件格式，请选择 JSON 或 CSV。")
	}
	if opts.Scope.AgencyCode != "" && kind == KindHall {
		return nil, models.Errorf(models.ECodeForbidden, "实施主体的管理员不能导入服务大厅。")
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read import file: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, errBadInput("导入文件不能超过%dMB。", MaxBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errBadInput("导入文件是空的。")
	}
	imp, err := newImporter(kind)
	if err != nil {
		return nil, err
	}
	rep := &Report{Kind: kind, DryRun: opts.DryRun}
	col := newCollector(kind)
	// Reading and checking each row on its own needs no database.
	if err := imp.decode(kind, format, data, col); err != nil {
		return nil, err
	}
	rep.Total = imp.total()
	run := func(q *gorm.DB) error {
		col.resetDB()
		sc, err := resolveScope(q, opts.Scope)
		if err != nil {
			return err
		}
		if err := imp.plan(q, sc, col); err != nil {
			return err
		}
		if opts.DryRun || col.invalid() {
			return nil
		}
		return imp.apply(q, now())
	}
	if opts.DryRun || col.invalid() {
		// Nothing will be written: the lookups need no transaction.
		err = run(db.WithContext(ctx))
	} else {
		// The lookups run in the writing transaction, so that what was
		// validated is what is written.
		err = database.Transaction(ctx, db, run)
	}
	if err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, models.Errorf(models.ECodeConflict, "导入期间目录被其他操作修改，请重新导入。")
		}
		return nil, err
	}
	col.report(rep)
	if len(rep.Errors) == 0 {
		rep.Created, rep.Updated, rep.Unchanged = imp.counts()
	}
	return rep, nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// scope is a Scope checked against the database.
type scope struct {
	prefix     string
	agencyID   uint64
	agencyCode string
}

func (s scope) region(code string) bool { return strings.HasPrefix(code, s.prefix) }

func resolveScope(q *gorm.DB, in Scope) (scope, error) {
	sc := scope{prefix: in.RegionPrefix}
	if len(in.RegionPrefix) > 6 || strings.Trim(in.RegionPrefix, "0123456789") != "" {
		return sc, errBadInput("管辖范围的行政区划代码前缀应为不超过6位的数字。")
	}
	if in.AgencyCode != "" {
		var a models.Agency
		err := q.Where("code = ?", in.AgencyCode).Take(&a).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return sc, errBadInput("管辖范围中的实施主体编码不存在。")
		} else if err != nil {
			return sc, err
		}
		sc.agencyID, sc.agencyCode = a.ID, a.Code
	}
	return sc, nil
}

// importer is one kind's import: decode reads and checks rows on their own,
// plan checks them against the database and works out the writes, apply
// makes them. plan may run more than once (a retried transaction).
type importer interface {
	decode(kind Kind, format Format, data []byte, col *collector) error
	total() int
	plan(q *gorm.DB, sc scope, col *collector) error
	apply(tx *gorm.DB, at time.Time) error
	counts() (created, updated, unchanged int)
}

func newImporter(kind Kind) (importer, error) {
	switch kind {
	case KindAgency:
		return &agencyImport{}, nil
	case KindHall:
		return &hallImport{}, nil
	case KindMatter:
		return &matterImport{}, nil
	case KindGuide:
		return &guideImport{}, nil
	}
	return nil, errBadInput("不支持的数据类别。")
}

// collector gathers row errors: those found reading the file, and those
// found against the database (forgotten when a transaction is retried).
type collector struct {
	labels   map[string]string
	file, db []RowError
	bad      map[int]bool // rows with a file error
	badDB    map[int]bool
}

func newCollector(kind Kind) *collector {
	return &collector{labels: labelsOf(kind), bad: map[int]bool{}, badDB: map[int]bool{}}
}

// label is a field's Chinese name.
func (c *collector) label(key string) string {
	if l, ok := c.labels[key]; ok {
		return l
	}
	return key
}

func (c *collector) fileErr(row int, field, msg string) {
	c.bad[row] = true
	c.file = append(c.file, RowError{Row: row, Field: field, Message: msg})
}

func (c *collector) dbErr(row int, field, msg string) {
	c.badDB[row] = true
	c.db = append(c.db, RowError{Row: row, Field: field, Message: msg})
}

func (c *collector) resetDB() {
	c.db = c.db[:0]
	clear(c.badDB)
}

// failed reports whether the row already has an error.
func (c *collector) failed(row int) bool { return c.bad[row] || c.badDB[row] }

func (c *collector) invalid() bool { return len(c.file)+len(c.db) > 0 }

func (c *collector) report(rep *Report) {
	all := append(slices.Clip(c.file), c.db...)
	slices.SortStableFunc(all, func(a, b RowError) int { return a.Row - b.Row })
	bad := len(c.bad)
	for r := range c.badDB {
		if !c.bad[r] {
			bad++
		}
	}
	rep.Valid = rep.Total - bad
	if len(all) > MaxErrors {
		all, rep.Truncated = all[:MaxErrors], true
	}
	rep.Errors = all
}
