package seal

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"time"

	"gorm.io/gorm"

	"govmobile/gm"
	"govmobile/models"
)

// Bounds of a seal image: a PNG of 64 to 1024 pixels a side, at most
// 64,000 bytes (a 400×400 red imprint is 20–40 KB).
const (
	MaxImageBytes = 64000
	minImageSide  = 64
	maxImageSide  = 1024
)

// SetImage sets a seal's imprint. Only a real PNG within the bounds is
// taken; it is decoded whole, so a file that only looks like one is
// refused. A revoked seal's image stays as it was.
func (s *Service) SetImage(ctx context.Context, sealID, by uint64, data []byte) (*models.SealImage, error) {
	if len(data) == 0 || len(data) > MaxImageBytes {
		return nil, models.InvalidField("png", "印模图片应为不超过 64 KB 的 PNG 文件。")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != "png" {
		return nil, models.InvalidField("png", "印模图片应为 PNG 格式。")
	}
	if cfg.Width < minImageSide || cfg.Height < minImageSide || cfg.Width > maxImageSide || cfg.Height > maxImageSide {
		return nil, models.InvalidField("png", "印模图片的宽和高应在 64 至 1024 像素之间。")
	}
	if _, err := png.Decode(bytes.NewReader(data)); err != nil {
		return nil, models.InvalidField("png", "印模图片已损坏，无法读取。")
	}
	img := &models.SealImage{SealID: sealID, PNG: data, SM3: gm.SM3Hex(data), Width: cfg.Width, Height: cfg.Height, UpdatedBy: by, UpdatedAt: time.Now().UTC()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var seal models.Seal
		if err := tx.Take(&seal, sealID).Error; err != nil {
			return err
		}
		if seal.RevokedAt != nil {
			return models.Errorf(models.ECodeConflict, "印章已停用，不能更换印模。")
		}
		return tx.Save(img).Error
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这枚印章。")
	}
	return img, err
}

// Image is a seal's imprint; nil when none is set.
func (s *Service) Image(ctx context.Context, sealID uint64) (*models.SealImage, error) {
	var img models.SealImage
	err := s.db.WithContext(ctx).Where("seal_id = ?", sealID).Take(&img).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &img, err
}

// ImageDigest is the SM3 of a seal's imprint, "" when none (for its URL).
func (s *Service) ImageDigest(ctx context.Context, sealID uint64) (string, error) {
	var digests []string
	err := s.db.WithContext(ctx).Model(&models.SealImage{}).Where("seal_id = ?", sealID).Limit(1).Pluck("sm3", &digests).Error
	if err != nil || len(digests) == 0 {
		return "", err
	}
	return digests[0], nil
}
