package apps

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/models"
)

// Kinds of app files.
const (
	FilePackage  = "PACKAGE"   // an installation package: APK or IPA
	FileH5Bundle = "H5_BUNDLE" // a zip of an H5 app with index.html
	FileIcon     = "ICON"      // a PNG or JPEG icon
)

// MaxFilesPerKind bounds an app's (or a filing's) files of each kind;
// files are removed with removeAppFile.
const MaxFilesPerKind = 10

// maxZipEntries bounds a package's entries: the zip reader holds its whole
// central directory in memory.
const maxZipEntries = 100000

// fileRules are what each kind of file may be.
var fileRules = map[string]cases.Rule{
	FilePackage:  {MaxBytes: 200 << 20, Types: []string{"application/zip"}, TypesText: "APK 或 IPA（zip）"},
	FileH5Bundle: {MaxBytes: 50 << 20, Types: []string{"application/zip"}, TypesText: "zip"},
	FileIcon:     {MaxBytes: 1 << 20, Types: []string{"image/png", "image/jpeg"}, TypesText: "PNG 或 JPEG"},
}

// MaxUploadBytes is the largest file of any kind.
const MaxUploadBytes = 200 << 20

// FileKinds are the kinds an upload may name.
func FileKinds() []string { return []string{FilePackage, FileH5Bundle, FileIcon} }

// FileOwner is a file's owner: an app or a filing.
type FileOwner struct{ AppID, FilingID uint64 }

// StoreFile keeps an uploaded file of kind for an app or a filing: its
// type by content, its size within the kind's limit, an installation
// package or bundle read as a zip that holds what such a package holds; its
// SM3 digest is recorded. A package or bundle changes what is reviewed, so
// an app goes back to draft (admit, given by the caller, checks the owner
// may take the file now).
func StoreFile(ctx context.Context, db *gorm.DB, store *cases.Files, adminID uint64, owner FileOwner, kind, name string, content io.Reader,
	admit func(tx *gorm.DB) error, after func(tx *gorm.DB, f *models.AppFile) error) (*models.AppFile, error) {
	rule, ok := fileRules[kind]
	if !ok {
		return nil, models.InvalidField("kind", "文件类型只能是 PACKAGE（安装包）、H5_BUNDLE（H5 资源包）或 ICON（图标）。")
	}
	admitAll := func(tx *gorm.DB) error {
		if err := admit(tx); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&models.AppFile{}).Where("app_id = ? AND filing_id = ? AND kind = ?", owner.AppID, owner.FilingID, kind).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxFilesPerKind {
			return models.Errorf(models.ECodeConflict, "同一类文件最多%d个，请先删除不用的文件。", MaxFilesPerKind)
		}
		return nil
	}
	// Checked before the content is read, and again with the row insert.
	if err := admitAll(db.WithContext(ctx)); err != nil {
		return nil, err
	}
	kept, err := store.KeepAs(content, rule)
	if err != nil {
		return nil, err
	}
	if kind == FilePackage || kind == FileH5Bundle {
		if err := checkArchive(store, kept, kind); err != nil {
			return nil, err
		}
	}
	row := &models.AppFile{AppID: owner.AppID, FilingID: owner.FilingID, Kind: kind, Name: cases.CleanName(name),
		ContentType: kept.Type, Size: kept.Size, SM3: kept.SM3, UploadedBy: adminID, CreatedAt: time.Now().UTC()}
	// The row, and what the upload changes (the app's version, the
	// filing's package), are written together or not at all.
	err = database.Transaction(ctx, db, func(tx *gorm.DB) error {
		if err := admitAll(tx); err != nil {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		if after != nil {
			return after(tx, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row, nil
}

// checkArchive reads a package or bundle as a zip: an APK holds
// AndroidManifest.xml, an IPA a Payload/….app, an H5 bundle an index.html.
func checkArchive(store *cases.Files, kept *cases.Kept, kind string) error {
	f, err := store.Content(kept.SM3)
	if err != nil {
		return err
	}
	defer f.Close()
	if n, err := zipEntries(f, kept.Size); err != nil || n > maxZipEntries {
		return models.InvalidField("file", fmt.Sprintf("文件不是完整的 zip 格式安装包或资源包，或其中的文件超过%d个。", maxZipEntries))
	}
	zr, err := zip.NewReader(f, kept.Size)
	if err != nil {
		return models.InvalidField("file", "文件不是完整的 zip 格式安装包或资源包。")
	}
	for _, e := range zr.File {
		n := strings.TrimPrefix(e.Name, "./")
		switch kind {
		case FilePackage:
			if n == "AndroidManifest.xml" || (strings.HasPrefix(n, "Payload/") && strings.Contains(n, ".app/")) {
				return nil
			}
		case FileH5Bundle:
			if n == "index.html" || (strings.Count(n, "/") == 1 && strings.HasSuffix(n, "/index.html")) {
				return nil
			}
		}
	}
	if kind == FilePackage {
		return models.InvalidField("file", "安装包中没有 AndroidManifest.xml（APK）或 Payload/*.app（IPA）。")
	}
	return models.InvalidField("file", "H5 资源包的根目录（或唯一的顶层目录）中须有 index.html。")
}

// zipEntries counts a zip's entries by walking its central directory
// header by header, before the zip reader holds the directory in memory:
// at most maxZipEntries+1 are read. The walk must end exactly at the end
// record and agree with its count; ZIP64 archives (whose sentinels send
// readers elsewhere) are refused.
func zipEntries(r io.ReaderAt, size int64) (int, error) {
	const eocdLen, maxComment = 22, 65535
	tail := min(size, eocdLen+maxComment)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return 0, err
	}
	eocd := -1
	for i := len(buf) - eocdLen; i >= 0; i-- {
		if binary.LittleEndian.Uint32(buf[i:]) == 0x06054b50 {
			eocd = i
			break
		}
	}
	if eocd < 0 {
		return 0, errors.New("no end of central directory")
	}
	rec := buf[eocd:]
	count := int(binary.LittleEndian.Uint16(rec[10:]))
	dirSize := int64(binary.LittleEndian.Uint32(rec[12:]))
	dirOffset := int64(binary.LittleEndian.Uint32(rec[16:]))
	// Go's reader turns to ZIP64 records on any of these sentinels, or
	// finds a ZIP64 locator just before the end record: refused alike.
	if count == 0xFFFF || dirSize == 0xFFFF || dirSize == 0xFFFFFFFF || dirOffset == 0xFFFFFFFF {
		return 0, errors.New("zip64")
	}
	if eocd >= 20 && binary.LittleEndian.Uint32(buf[eocd-20:]) == 0x07064b50 {
		return 0, errors.New("zip64 locator")
	}
	eocdAt := size - tail + int64(eocd)
	if dirOffset+dirSize != eocdAt {
		return 0, errors.New("central directory not where the end record says")
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, dirOffset, dirSize), 64<<10)
	var head [46]byte
	n, read := 0, int64(0)
	for read < dirSize {
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return 0, err
		}
		if binary.LittleEndian.Uint32(head[:]) != 0x02014b50 {
			return 0, errors.New("bad central directory header")
		}
		skip := int64(binary.LittleEndian.Uint16(head[28:])) + int64(binary.LittleEndian.Uint16(head[30:])) + int64(binary.LittleEndian.Uint16(head[32:]))
		if _, err := br.Discard(int(skip)); err != nil {
			return 0, err
		}
		read += 46 + skip
		if n++; n > maxZipEntries {
			return n, nil
		}
	}
	if read != dirSize || n != count {
		return 0, errors.New("central directory does not match its end record")
	}
	return n, nil
}

// AddFile keeps a file of an app. A package or a bundle is a change that
// is tested and reviewed again (the app goes back to draft); an icon is
// display only and may be added at any time.
func (s *Service) AddFile(ctx context.Context, store *cases.Files, adminID, appID uint64, kind, name string, content io.Reader) (*models.AppFile, error) {
	admit := func(tx *gorm.DB) error {
		a, err := get(tx, appID)
		if err != nil {
			return err
		}
		if kind != FileIcon {
			if _, err := Next(Status(a.Status), Edit, Owner); err != nil {
				return err
			}
		}
		return nil
	}
	after := func(tx *gorm.DB, f *models.AppFile) error {
		if kind == FileIcon {
			return event(tx, appID, "UPLOAD", adminID, fmt.Sprintf("上传图标 %s", f.Name))
		}
		_, err := stepTx(tx, appID, Edit, Owner, adminID, "UPLOAD", fmt.Sprintf("上传%s %s（SM3 %s）", kind, f.Name, f.SM3[:16]), nil)
		return err
	}
	return StoreFile(ctx, s.db, store, adminID, FileOwner{AppID: appID}, kind, name, content, admit, after)
}

// RemoveFile deletes an app's file. Removing a package or a bundle changes
// what is reviewed (the app goes back to draft); an icon in use in a hall
// is not removed. The content stays in the store (other rows may share it).
func (s *Service) RemoveFile(ctx context.Context, adminID, fileID uint64) (*models.App, error) {
	f, err := s.File(ctx, fileID)
	if err != nil || f.AppID == 0 {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个文件。")
	}
	var out *models.App
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if f.Kind == FileIcon {
			var used int64
			if err := tx.Model(&models.AppPublication{}).Where("icon_file_id = ?", f.ID).Count(&used).Error; err != nil {
				return err
			}
			if used > 0 {
				return models.Errorf(models.ECodeConflict, "这个图标正在分厅中使用，请先修改发布设置。")
			}
		} else if _, err := stepTx(tx, f.AppID, Edit, Owner, adminID, "REMOVE_FILE", "删除 "+f.Name, nil); err != nil {
			return err
		}
		res := tx.Delete(&models.AppFile{}, f.ID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeNotFound, "没有找到这个文件。")
		}
		var err error
		out, err = get(tx, f.AppID)
		return err
	})
	return out, err
}

// Files are an app's files, newest first.
func (s *Service) Files(ctx context.Context, appID uint64) ([]*models.AppFile, error) {
	var out []*models.AppFile
	err := s.db.WithContext(ctx).Where("app_id = ? AND filing_id = 0", appID).Order("id DESC").Find(&out).Error
	return out, err
}

// File is one app or filing file.
func File(ctx context.Context, db *gorm.DB, id uint64) (*models.AppFile, error) {
	var f models.AppFile
	if err := db.WithContext(ctx).Take(&f, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个文件。")
	} else if err != nil {
		return nil, err
	}
	return &f, nil
}

// File is one app or filing file.
func (s *Service) File(ctx context.Context, id uint64) (*models.AppFile, error) {
	return File(ctx, s.db, id)
}
