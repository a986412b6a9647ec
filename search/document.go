package search

import (
	"context"
	"strconv"
	"time"

	"govmobile/models"
)

// Document is what a domain package tells the index about one entity.
type Document struct {
	Kind    models.SearchDocKind
	ID      uint64
	Name    string
	Aliases []string
	Summary string
	// Body is the long text: a matter's guide, an entry's answer.
	Body string
	// RegionName is the full name of the region the entity belongs to
	// (浙江省杭州市西湖区), so that a place typed into a query matches.
	RegionName string
	AgencyName string
	// OwnerID is the citizen who wrote a consultation.
	OwnerID  uint64
	Nature   models.MatterNature
	Objects  models.ServiceObjectSet
	Level    models.AdminLevel
	AgencyID uint64
	ThemeIDs []uint64
	// RegionCode, ProvinceCode and CityCode place the entity; all empty for
	// something offered nationwide.
	RegionCode   string
	ProvinceCode string
	CityCode     string
	OnlineDepth  int
	Popularity   int
	UpdatedAt    time.Time
}

// Source reads indexed entities from the database.
type Source interface {
	// Documents returns the documents of the entities with the given IDs;
	// an ID without an entity (deleted, or not published) is left out.
	Documents(ctx context.Context, kind models.SearchDocKind, ids []uint64) ([]Document, error)
	// IDs lists up to limit IDs of kind above after, ascending.
	IDs(ctx context.Context, kind models.SearchDocKind, after uint64, limit int) ([]uint64, error)
}

// Scope values stored on documents. GUIDE is not stored: it is a matter whose
// guide text matches, decided at query time.
const (
	scopeMatter    = "MATTER"
	scopeApp       = "APP"
	scopeKnowledge = "KNOWLEDGE"
	scopeHall      = "HALL"
	// scopeConsultation is never a scope a public search can ask for.
	scopeConsultation = "CONSULTATION"
	scopeApproval     = "APPROVAL"
	// nationwide is the region code of what every region may use.
	nationwide = "ALL"
)

func (s *Service) toIndexDoc(d Document) indexDoc {
	if d.Kind == models.DocConsultation {
		// Citizens' own words: runs of digits (identity numbers, phones)
		// are masked before they reach the index, sort keys included.
		d.Name, d.Summary, d.Aliases, d.Body = MaskDigits(d.Name), MaskDigits(d.Summary), nil, ""
	}
	x := indexDoc{
		Kind: string(d.Kind), Name: append([]string{d.Name}, d.Aliases...), Body: d.Body,
		// The agency's name shares the summary's field: one field fewer
		// for every word of every query to look in.
		Summary: []string{d.Summary, d.AgencyName}, Region: d.RegionName,
		Nature: string(d.Nature), Level: string(d.Level),
		RegionC: d.RegionCode, Province: d.ProvinceCode, City: d.CityCode,
		Online: strconv.Itoa(d.OnlineDepth),
	}
	x.PopKey = sortKey(numberKey(int64(d.Popularity)), d.Kind, d.ID)
	x.RecentKey = sortKey(numberKey(d.UpdatedAt.Unix()), d.Kind, d.ID)
	x.NameKey = sortKey(d.Name, d.Kind, d.ID)
	if x.RegionC == "" {
		x.RegionC, x.Province, x.City = nationwide, nationwide, nationwide
	}
	switch d.Kind {
	case models.DocMatter:
		x.Scopes = []string{scopeMatter}
		if d.Nature == models.NatureLicense {
			x.Scopes = append(x.Scopes, scopeApproval)
		}
	case models.DocApp:
		x.Scopes = []string{scopeApp}
	case models.DocKnowledge:
		x.Scopes = []string{scopeKnowledge}
	case models.DocHall:
		x.Scopes = []string{scopeHall}
	case models.DocConsultation:
		x.Scopes = []string{scopeConsultation}
		x.Owner = strconv.FormatUint(d.OwnerID, 10)
		x.CText, x.Name, x.Summary = append(x.Name, x.Summary...), nil, nil
	}
	for _, o := range d.Objects.List() {
		x.Objects = append(x.Objects, string(o))
		if d.Kind == models.DocMatter && (o == models.ObjectNaturalPerson || o == models.ObjectLegalPerson) {
			x.Scopes = append(x.Scopes, string(o))
		}
	}
	if d.AgencyID != 0 {
		x.AgencyID = strconv.FormatUint(d.AgencyID, 10)
	}
	for _, t := range d.ThemeIDs {
		x.Themes = append(x.Themes, strconv.FormatUint(t, 10))
	}
	// Pinyin of the name and of every alias, so that "shebaoka" and "sbk"
	// find 社会保障卡申领 through its alias 社保卡.
	seen := map[string]bool{}
	if d.Kind == models.DocConsultation {
		return x // found by its words only, by its author and agency
	}
	for _, text := range append([]string{d.Name}, d.Aliases...) {
		full, initials := s.pinyin.forms(text)
		if full != "" && !seen[full] {
			seen[full] = true
			x.Pinyin = append(x.Pinyin, full)
			x.Initials = append(x.Initials, initials)
		}
	}
	return x
}
