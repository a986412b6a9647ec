package consult

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/models"
)

// MaxAttachments bounds a consultation's attachments.
const MaxAttachments = 10

// attachable are the statuses in which the citizen adds attachments.
var attachable = []Status{Draft, Submitted}

// Attachments keeps consultations' attachments in the case files' content
// store, under its rules (10 MB; PDF, JPEG or PNG by content).
type Attachments struct {
	db    *gorm.DB
	store *cases.Files
}

// NewAttachments returns the attachment store.
func NewAttachments(db *gorm.DB, store *cases.Files) *Attachments {
	return &Attachments{db: db, store: store}
}

var errFileNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个附件。")

// Store adds an attachment to one of the user's consultations while it is
// a draft or waiting for the agency; another user's is NOT_FOUND.
func (a *Attachments) Store(ctx context.Context, userID, id uint64, name string, content io.Reader) (*models.ConsultationFile, error) {
	admits := func(db *gorm.DB, lock bool) error {
		q := db.Where("id = ? AND user_id = ?", id, userID)
		if lock && db.Dialector.Name() == "mysql" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		var c models.Consultation
		if err := q.Take(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		if !slices.Contains(attachable, Status(c.Status)) {
			return models.Errorf(models.ECodeConflict, "当前状态为“%s”，不能再添加附件。", Status(c.Status).Label())
		}
		var n int64
		if err := db.Model(&models.ConsultationFile{}).Where("consultation_id = ?", id).Count(&n).Error; err != nil {
			return err
		}
		if n >= MaxAttachments {
			return models.InvalidField("file", fmt.Sprintf("每条咨询投诉最多%d个附件。", MaxAttachments))
		}
		return nil
	}
	if err := admits(a.db.WithContext(ctx), false); err != nil {
		return nil, err
	}
	kept, err := a.store.Keep(content)
	if err != nil {
		return nil, err
	}
	row := &models.ConsultationFile{ConsultationID: id, UserID: userID, Name: cases.CleanName(name), ContentType: kept.Type,
		Size: kept.Size, SM3: kept.SM3, CreatedAt: time.Now().UTC()}
	// Checked again with the insert, holding the row: racing uploads, or
	// the agency taking the consultation meanwhile, cannot pass the bounds.
	err = database.Transaction(ctx, a.db, func(tx *gorm.DB) error {
		if err := admits(tx, true); err != nil {
			return err
		}
		return tx.Create(row).Error
	})
	if err != nil {
		return nil, err
	}
	return row, nil
}

// Viewer is who asks for an attachment: the citizen (UserID) or the staff
// of an agency (AgencyID).
type Viewer struct {
	UserID   uint64
	AgencyID uint64
}

// Open returns an attachment and its content to the consultation's citizen,
// or to the staff of its agency once submitted; to anyone else NOT_FOUND.
func (a *Attachments) Open(ctx context.Context, who Viewer, fileID uint64) (*models.ConsultationFile, *os.File, error) {
	var row models.ConsultationFile
	q := a.db.WithContext(ctx).Model(&models.ConsultationFile{}).Select("consultation_files.*").
		Joins("JOIN consultations ON consultations.id = consultation_files.consultation_id").Where("consultation_files.id = ?", fileID)
	switch {
	case who.UserID != 0:
		q = q.Where("consultations.user_id = ?", who.UserID)
	case who.AgencyID != 0:
		q = q.Where("consultations.agency_id = ? AND consultations.status <> ?", who.AgencyID, string(Draft))
	default:
		return nil, nil, errFileNotFound
	}
	if err := q.Take(&row).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, errFileNotFound
	} else if err != nil {
		return nil, nil, err
	}
	fh, err := a.store.Content(row.SM3)
	if err != nil {
		return nil, nil, fmt.Errorf("open attachment %d: %w", row.ID, err)
	}
	return &row, fh, nil
}

// List is a consultation's attachments, oldest first; the caller has
// checked the consultation may be seen.
func (a *Attachments) List(ctx context.Context, id uint64) ([]*models.ConsultationFile, error) {
	var out []*models.ConsultationFile
	err := a.db.WithContext(ctx).Where("consultation_id = ?", id).Order("id").Find(&out).Error
	return out, err
}
