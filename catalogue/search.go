package catalogue

import (
	"context"
	"strings"

	"govmobile/models"
	"govmobile/search"
)

// SetSearch connects the search index: the matter list's keyword runs on it,
// and every catalogue write wakes its outbox applier.
func (s *Service) SetSearch(idx *search.Service) { s.search = idx }

// SearchSource is the catalogue as the search index reads it.
func (s *Service) SearchSource() search.Source { return searchSource{s} }

type searchSource struct{ s *Service }

func (src searchSource) IDs(ctx context.Context, kind models.SearchDocKind, after uint64, limit int) ([]uint64, error) {
	db := src.s.db.WithContext(ctx).Where("id > ?", after).Order("id").Limit(limit)
	var ids []uint64
	var err error
	switch kind {
	case models.DocMatter:
		err = db.Model(&models.Matter{}).Pluck("id", &ids).Error
	case models.DocApp:
		err = db.Model(&models.App{}).Where("online = ?", true).Pluck("id", &ids).Error
	case models.DocKnowledge:
		err = db.Model(&models.KnowledgeEntry{}).Pluck("id", &ids).Error
	case models.DocHall:
		err = db.Model(&models.Hall{}).Pluck("id", &ids).Error
	case models.DocConsultation:
		err = db.Model(&models.Consultation{}).Where("status <> ?", "DRAFT").Pluck("id", &ids).Error
	}
	return ids, err
}

func (src searchSource) Documents(ctx context.Context, kind models.SearchDocKind, ids []uint64) ([]search.Document, error) {
	switch kind {
	case models.DocMatter:
		return src.matters(ctx, ids)
	case models.DocApp:
		return src.apps(ctx, ids)
	case models.DocKnowledge:
		return src.knowledge(ctx, ids)
	case models.DocHall:
		return src.halls(ctx, ids)
	case models.DocConsultation:
		return src.consultations(ctx, ids)
	}
	return nil, nil
}

func (src searchSource) regionName(code string) string {
	if r := src.s.regions.Get(code); r != nil {
		return r.FullName
	}
	return ""
}

func (src searchSource) matters(ctx context.Context, ids []uint64) ([]search.Document, error) {
	db := src.s.db.WithContext(ctx)
	var ms []*models.Matter
	if err := db.Where("id IN ?", ids).Find(&ms).Error; err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, nil
	}
	var guides []models.MatterGuide
	if err := db.Where("matter_id IN ?", ids).Find(&guides).Error; err != nil {
		return nil, err
	}
	guideOf := map[uint64]*models.Guide{}
	for i := range guides {
		guideOf[guides[i].MatterID] = &guides[i].Guide
	}
	var themes []models.MatterTheme
	if err := db.Where("matter_id IN ?", ids).Find(&themes).Error; err != nil {
		return nil, err
	}
	themesOf := map[uint64][]uint64{}
	for _, t := range themes {
		themesOf[t.MatterID] = append(themesOf[t.MatterID], t.ThemeID)
	}
	agencyIDs := map[uint64]bool{}
	for _, m := range ms {
		agencyIDs[m.AgencyID] = true
	}
	var agencies []models.Agency
	if err := db.Where("id IN ?", keys(agencyIDs)).Find(&agencies).Error; err != nil {
		return nil, err
	}
	agencyName := map[uint64]string{}
	for _, a := range agencies {
		agencyName[a.ID] = a.Name
	}
	out := make([]search.Document, 0, len(ms))
	for _, m := range ms {
		out = append(out, search.Document{
			Kind: models.DocMatter, ID: m.ID, Name: m.Name, Aliases: m.Aliases, Summary: m.Summary,
			Body: GuideText(guideOf[m.ID]), RegionName: src.regionName(m.RegionCode), AgencyName: agencyName[m.AgencyID],
			Nature: m.Nature, Objects: m.ServiceObjects, Level: m.Level, AgencyID: m.AgencyID, ThemeIDs: themesOf[m.ID],
			RegionCode: m.RegionCode, ProvinceCode: m.ProvinceCode, CityCode: m.CityCode,
			OnlineDepth: m.OnlineDepth, Popularity: m.Popularity, UpdatedAt: m.UpdatedAt,
		})
	}
	return out, nil
}

// GuideText is the searchable text of a guide: conditions and materials,
// which is what citizens look up ("要带什么材料"). Process steps are left out:
// 受理、审查、决定 read alike in every guide, find nothing, and were half the
// cost of building the index.
func GuideText(g *models.Guide) string {
	if g == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range g.Conditions {
		b.WriteString(c)
		b.WriteString("\n")
	}
	for _, m := range g.Materials {
		b.WriteString(m.Name)
		b.WriteString(" ")
		b.WriteString(m.Note)
		b.WriteString("\n")
	}
	return b.String()
}

func (src searchSource) apps(ctx context.Context, ids []uint64) ([]search.Document, error) {
	var apps []*models.App
	if err := src.s.db.WithContext(ctx).Where("id IN ? AND online = ?", ids, true).Find(&apps).Error; err != nil {
		return nil, err
	}
	out := make([]search.Document, 0, len(apps))
	for _, a := range apps {
		d := search.Document{
			Kind: models.DocApp, ID: a.ID, Name: a.Name, Aliases: a.Aliases, Summary: a.Summary, Body: a.Category,
			Objects: a.ServiceObjects, Popularity: a.Popularity, UpdatedAt: a.UpdatedAt,
		}
		if r := src.s.regions.Get(a.RegionCode); r != nil {
			d.RegionName, d.RegionCode, d.ProvinceCode, d.CityCode = r.FullName, r.Code, r.ProvinceCode, r.CityCode
		}
		out = append(out, d)
	}
	return out, nil
}

func (src searchSource) knowledge(ctx context.Context, ids []uint64) ([]search.Document, error) {
	var entries []*models.KnowledgeEntry
	if err := src.s.db.WithContext(ctx).Where("id IN ?", ids).Find(&entries).Error; err != nil {
		return nil, err
	}
	out := make([]search.Document, 0, len(entries))
	for _, e := range entries {
		out = append(out, search.Document{
			Kind: models.DocKnowledge, ID: e.ID, Name: e.Question, Aliases: e.Keywords, Summary: e.Answer,
			UpdatedAt: e.UpdatedAt,
		})
	}
	return out, nil
}

func keys(m map[uint64]bool) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// halls are found by name, address and region (ScopeHall).
func (src searchSource) halls(ctx context.Context, ids []uint64) ([]search.Document, error) {
	var hs []*models.Hall
	if err := src.s.db.WithContext(ctx).Where("id IN ?", ids).Find(&hs).Error; err != nil {
		return nil, err
	}
	docs := make([]search.Document, len(hs))
	for i, h := range hs {
		docs[i] = search.Document{Kind: models.DocHall, ID: h.ID, Name: h.Name, Summary: h.Address,
			RegionCode: h.RegionCode, RegionName: src.regionName(h.RegionCode)}
		if r := src.s.regions.Get(h.RegionCode); r != nil {
			docs[i].ProvinceCode, docs[i].CityCode = r.ProvinceCode, r.CityCode
			if r.Level == models.RegionCity {
				docs[i].CityCode = r.Code
			}
		}
	}
	return docs, nil
}

// consultations are submitted consultations, searched only by their author
// and their agency; a draft has no document.
func (src searchSource) consultations(ctx context.Context, ids []uint64) ([]search.Document, error) {
	var cs []*models.Consultation
	if err := src.s.db.WithContext(ctx).Select("id", "user_id", "agency_id", "title", "content", "status").
		Where("id IN ? AND status <> ?", ids, "DRAFT").Find(&cs).Error; err != nil {
		return nil, err
	}
	docs := make([]search.Document, len(cs))
	for i, c := range cs {
		docs[i] = search.Document{Kind: models.DocConsultation, ID: c.ID, Name: c.Title, Summary: c.Content,
			AgencyID: c.AgencyID, OwnerID: c.UserID}
	}
	return docs, nil
}
