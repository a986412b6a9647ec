package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
	"govmobile/search"
)

// Bounds on a knowledge entry (知识库管理, 8.2.5).
const (
	MaxKnowledgeQuestion = 300
	MaxKnowledgeAnswer   = 5000
	MaxKnowledgeKeywords = 20
	MaxKnowledgeKeyword  = 30
)

// KnowledgeInput is an entry as an administrator writes it.
type KnowledgeInput struct {
	Question   string
	Answer     string
	Keywords   []string
	MatterCode string
}

func (in *KnowledgeInput) clean(tx *gorm.DB) error {
	in.Question, in.Answer, in.MatterCode = strings.TrimSpace(in.Question), strings.TrimSpace(in.Answer), strings.TrimSpace(in.MatterCode)
	bad := func(s string) bool {
		return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f })
	}
	switch {
	case in.Question == "" || utf8.RuneCountInString(in.Question) > MaxKnowledgeQuestion || bad(in.Question):
		return models.InvalidField("question", fmt.Sprintf("问题应为1到%d个字，且不含控制字符。", MaxKnowledgeQuestion))
	case in.Answer == "" || utf8.RuneCountInString(in.Answer) > MaxKnowledgeAnswer || bad(in.Answer):
		return models.InvalidField("answer", fmt.Sprintf("解答应为1到%d个字，且不含控制字符。", MaxKnowledgeAnswer))
	case len(in.Keywords) > MaxKnowledgeKeywords:
		return models.InvalidField("keywords", fmt.Sprintf("关键词最多%d个。", MaxKnowledgeKeywords))
	}
	var kws []string
	seen := map[string]bool{}
	for _, k := range in.Keywords {
		k = strings.TrimSpace(k)
		if k == "" || utf8.RuneCountInString(k) > MaxKnowledgeKeyword || bad(k) {
			return models.InvalidField("keywords", fmt.Sprintf("每个关键词应为1到%d个字。", MaxKnowledgeKeyword))
		}
		if !seen[k] {
			seen[k] = true
			kws = append(kws, k)
		}
	}
	in.Keywords = kws
	if in.MatterCode != "" {
		var n int64
		if err := tx.Model(&models.Matter{}).Where("code = ?", in.MatterCode).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.InvalidField("matterCode", "没有这个事项编码。")
		}
	}
	return nil
}

// SaveKnowledgeEntry creates an entry (id 0) or changes one, and queues it
// for the search index in the same transaction: ask and search find it
// within the index's lag.
func (s *Service) SaveKnowledgeEntry(ctx context.Context, id uint64, in KnowledgeInput) (*models.KnowledgeEntry, error) {
	var e models.KnowledgeEntry
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := in.clean(tx); err != nil {
			return err
		}
		now := time.Now().UTC()
		if id != 0 {
			if err := tx.Take(&e, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
				return models.Errorf(models.ECodeNotFound, "没有找到这个知识库条目。")
			} else if err != nil {
				return err
			}
		} else {
			e = models.KnowledgeEntry{Code: fmt.Sprintf("KB-%d", now.UnixNano()), CreatedAt: now}
		}
		e.Question, e.Answer, e.Keywords, e.MatterCode, e.UpdatedAt = in.Question, in.Answer, in.Keywords, in.MatterCode, now
		if err := tx.Save(&e).Error; err != nil {
			return err
		}
		return search.Enqueue(tx, models.DocKnowledge, e.ID)
	})
	if err != nil {
		return nil, err
	}
	s.Changed()
	return &e, nil
}

// DeleteKnowledgeEntry removes an entry, and from the search index.
func (s *Service) DeleteKnowledgeEntry(ctx context.Context, id uint64) error {
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Delete(&models.KnowledgeEntry{}, id)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeNotFound, "没有找到这个知识库条目。")
		}
		return search.Enqueue(tx, models.DocKnowledge, id)
	})
	if err == nil {
		s.Changed()
	}
	return err
}
