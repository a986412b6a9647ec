package catalogue

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"govmobile/messages"
	"govmobile/models"
	"govmobile/search"

	"gorm.io/gorm"
)

// The demo's sample service applications and knowledge-base entries (SPEC §5).
var (
	//go:embed demo/apps.json
	demoAppsJSON []byte
	//go:embed demo/knowledge.json
	demoKnowledgeJSON []byte
)

type demoApp struct {
	Code           string                 `json:"code"`
	Name           string                 `json:"name"`
	Aliases        []string               `json:"aliases"`
	Summary        string                 `json:"summary"`
	Category       string                 `json:"category"`
	ServiceObjects []models.ServiceObject `json:"serviceObjects"`
	RegionCode     string                 `json:"regionCode"`
	URL            string                 `json:"url"`
	Popularity     int                    `json:"popularity"`
	UpdatedAt      string                 `json:"updatedAt"`
}

type demoKnowledge struct {
	Code       string   `json:"code"`
	Question   string   `json:"question"`
	Answer     string   `json:"answer"`
	Keywords   []string `json:"keywords"`
	MatterCode string   `json:"matterCode"`
	UpdatedAt  string   `json:"updatedAt"`
}

func demoDate(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return t
}

// SeedDemoExtras loads the demo apps and knowledge-base entries into empty
// tables, each in one transaction with its outbox rows. A database upgraded
// from a release without them gets them too.
func (s *Service) SeedDemoExtras(ctx context.Context) (apps, entries int, err error) {
	db := s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&models.App{}).Count(&n).Error; err != nil {
		return 0, 0, err
	}
	if n == 0 {
		var list []demoApp
		if err := json.Unmarshal(demoAppsJSON, &list); err != nil {
			return 0, 0, fmt.Errorf("demo apps: %w", err)
		}
		rows := make([]*models.App, len(list))
		for i, a := range list {
			if a.RegionCode != "" && s.regions.Get(a.RegionCode) == nil {
				return 0, 0, fmt.Errorf("demo app %s: unknown region %s", a.Code, a.RegionCode)
			}
			t := demoDate(a.UpdatedAt)
			rows[i] = &models.App{Code: a.Code, Name: a.Name, Aliases: a.Aliases, Summary: a.Summary, Category: a.Category,
				ServiceObjects: models.NewServiceObjectSet(a.ServiceObjects...), RegionCode: a.RegionCode, URL: a.URL,
				Online: true, Popularity: a.Popularity, CreatedAt: t, UpdatedAt: t}
		}
		if err := createIndexed(s, db, rows, models.DocApp, func(a *models.App) uint64 { return a.ID }); err != nil {
			return 0, 0, fmt.Errorf("demo apps: %w", err)
		}
		apps = len(rows)
	}
	if err := db.Model(&models.KnowledgeEntry{}).Count(&n).Error; err != nil {
		return apps, 0, err
	}
	if n == 0 {
		var list []demoKnowledge
		if err := json.Unmarshal(demoKnowledgeJSON, &list); err != nil {
			return apps, 0, fmt.Errorf("demo knowledge base: %w", err)
		}
		rows := make([]*models.KnowledgeEntry, len(list))
		for i, k := range list {
			t := demoDate(k.UpdatedAt)
			rows[i] = &models.KnowledgeEntry{Code: k.Code, Question: k.Question, Answer: k.Answer, Keywords: k.Keywords,
				MatterCode: k.MatterCode, CreatedAt: t, UpdatedAt: t}
		}
		if err := createIndexed(s, db, rows, models.DocKnowledge, func(e *models.KnowledgeEntry) uint64 { return e.ID }); err != nil {
			return apps, 0, fmt.Errorf("demo knowledge base: %w", err)
		}
		entries = len(rows)
	}
	if apps+entries > 0 {
		s.Changed()
	}
	return apps, entries, nil
}

// createIndexed inserts rows and their outbox rows in one transaction.
func createIndexed[T any](s *Service, db *gorm.DB, rows []*T, kind models.SearchDocKind, id func(*T) uint64) error {
	return db.Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(rows, 200).Error; err != nil {
			return err
		}
		ids := make([]uint64, len(rows))
		for i, r := range rows {
			ids[i] = id(r)
		}
		return search.Enqueue(tx, kind, ids...)
	})
}

// App returns one online app by ID, or nil.
func (s *Service) App(ctx context.Context, id uint64) (*models.App, error) {
	return first[models.App](s.db.WithContext(ctx).Where("id = ? AND online = ?", id, true))
}

// AppAnyState returns one app by ID, online or not (for statistics that
// outlive an app's time online), or nil.
func (s *Service) AppAnyState(ctx context.Context, id uint64) (*models.App, error) {
	return first[models.App](s.db.WithContext(ctx).Where("id = ?", id))
}

// KnowledgeEntry returns one knowledge-base entry by ID, or nil.
func (s *Service) KnowledgeEntry(ctx context.Context, id uint64) (*models.KnowledgeEntry, error) {
	return first[models.KnowledgeEntry](s.db.WithContext(ctx).Where("id = ?", id))
}

// Apps returns online apps by ID, in the order of ids, skipping missing ones.
func (s *Service) Apps(ctx context.Context, ids []uint64) ([]*models.App, error) {
	var rows []*models.App
	if err := s.db.WithContext(ctx).Where("id IN ? AND online = ?", ids, true).Find(&rows).Error; err != nil {
		return nil, err
	}
	return ordered(rows, ids, func(a *models.App) uint64 { return a.ID }), nil
}

// KnowledgeEntries returns entries by ID, in the order of ids.
func (s *Service) KnowledgeEntries(ctx context.Context, ids []uint64) ([]*models.KnowledgeEntry, error) {
	var rows []*models.KnowledgeEntry
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return ordered(rows, ids, func(e *models.KnowledgeEntry) uint64 { return e.ID }), nil
}

// MattersByID returns matters by ID, in the order of ids.
func (s *Service) MattersByID(ctx context.Context, ids []uint64) ([]*models.Matter, error) {
	var rows []*models.Matter
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	return ordered(rows, ids, func(m *models.Matter) uint64 { return m.ID }), nil
}

func ordered[T any](rows []*T, ids []uint64, id func(*T) uint64) []*T {
	byID := make(map[uint64]*T, len(rows))
	for _, r := range rows {
		byID[id(r)] = r
	}
	out := make([]*T, 0, len(ids))
	for _, i := range ids {
		if r := byID[i]; r != nil {
			out = append(out, r)
		}
	}
	return out
}

// UpdateGuide replaces a matter's guide (办事指南). In the same transaction
// it queues the matter for the search index (its guide text is searched)
// and writes a message to everyone following the matter; the messages are
// delivered live once it commits.
func (s *Service) UpdateGuide(ctx context.Context, matterID uint64, g models.Guide) error {
	err := s.messages.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		var m models.Matter
		if err := tx.Select("id", "name").First(&m, matterID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.ECodeNotFound, "事项不存在。")
		} else if err != nil {
			return err
		}
		if err := tx.Save(&models.MatterGuide{MatterID: matterID, Guide: g}).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.Matter{ID: matterID}).UpdateColumn("updated_at", time.Now().UTC()).Error; err != nil {
			return err
		}
		if err := search.Enqueue(tx, models.DocMatter, matterID); err != nil {
			return err
		}
		followers, err := messages.Subscribers(tx, models.TargetMatter, matterID)
		if err != nil {
			return err
		}
		for _, u := range followers {
			if err := ob.Write(tx, &models.Message{UserID: u, Title: "订阅的事项有更新", Body: fmt.Sprintf("您订阅的事项“%s”的办事指南已更新，请在办理前重新查看。", m.Name),
				Target: models.TargetMatter, TargetID: matterID}); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.Changed()
	}
	return err
}

// UpdateMatterText changes a matter's name, aliases and summary, and queues
// it for the search index in the same transaction.
func (s *Service) UpdateMatterText(ctx context.Context, id uint64, name, summary string, aliases []string) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&models.Matter{ID: id}).Select("name", "summary", "aliases", "updated_at").
			Updates(&models.Matter{Name: name, Summary: summary, Aliases: aliases, UpdatedAt: time.Now().UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeNotFound, "事项不存在。")
		}
		return search.Enqueue(tx, models.DocMatter, id)
	})
	if err == nil {
		s.Changed()
	}
	return err
}
