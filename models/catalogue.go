package models

import "time"

// Region is an administrative division with its GB/T 2260 code. ProvinceCode
// and CityCode are its ancestors (itself where it is one), denormalised so that
// "this region and everything below it" is one indexed equality.
type Region struct {
	Code         string      `gorm:"primaryKey;size:6"`
	Name         string      `gorm:"size:64;not null"`
	Level        RegionLevel `gorm:"size:16;not null"`
	ParentCode   string      `gorm:"size:6;index"`
	ProvinceCode string      `gorm:"size:6;not null"`
	CityCode     string      `gorm:"size:6"`
	FullName     string      `gorm:"size:200;not null"`
}

// Agency is an implementing agency (实施主体): a department at one level of one region.
type Agency struct {
	ID         uint64     `gorm:"primaryKey"`
	Code       string     `gorm:"size:64;uniqueIndex;not null"`
	Name       string     `gorm:"size:200;not null"`
	Level      AdminLevel `gorm:"size:16;not null"`
	RegionCode string     `gorm:"size:6;index;not null"`
}

// Theme is a service theme (服务主题) of the national lists.
type Theme struct {
	ID            uint64        `gorm:"primaryKey"`
	Code          string        `gorm:"size:32;uniqueIndex;not null"`
	Name          string        `gorm:"size:64;not null"`
	ServiceObject ServiceObject `gorm:"size:32;not null"`
	SortOrder     int           `gorm:"not null"`
}

// Hall is an offline service hall (服务大厅). Coordinates are WGS-84.
type Hall struct {
	ID      uint64 `gorm:"primaryKey"`
	Name    string `gorm:"size:200;not null"`
	Address string `gorm:"size:300;not null"`
	// Lat and Lng are WGS-84; the nearby search reads them through
	// idx_halls_lat_lng.
	Lat          float64 `gorm:"not null;index:idx_halls_lat_lng,priority:1"`
	Lng          float64 `gorm:"not null;index:idx_halls_lat_lng,priority:2"`
	Phone        string  `gorm:"size:64;not null"`
	OpeningHours string  `gorm:"size:200;not null"`
	RegionCode   string  `gorm:"size:6;index;not null"`
	// DistanceMeters is the hall's distance from the point of a nearby
	// search; nil elsewhere.
	DistanceMeters *float64 `gorm:"-"`
}

// Matter is a government service matter (政务服务事项). The guide lives in its
// own table so that list pages never read it.
type Matter struct {
	ID             uint64           `gorm:"primaryKey"`
	Code           string           `gorm:"size:64;uniqueIndex;not null"`
	Name           string           `gorm:"size:200;not null;index;index:idx_matters_province_name,priority:2"`
	Aliases        []string         `gorm:"serializer:json;type:text"`
	Summary        string           `gorm:"size:500;not null"`
	Nature         MatterNature     `gorm:"size:40;not null;index:idx_matters_nature_pop,priority:1;index:idx_matters_province_nature_pop,priority:2;index:idx_matters_city_nature_pop,priority:2"`
	ServiceObjects ServiceObjectSet `gorm:"not null;index:idx_matters_objects_pop,priority:1"`
	Level          AdminLevel       `gorm:"size:16;not null;index:idx_matters_level_pop,priority:1"`
	AgencyID       uint64           `gorm:"not null;index:idx_matters_agency_pop,priority:1"`
	RegionCode     string           `gorm:"size:6;not null;index:idx_matters_region_pop,priority:1"`
	ProvinceCode   string           `gorm:"size:6;not null;index:idx_matters_province_pop,priority:1;index:idx_matters_province_nature_pop,priority:1;index:idx_matters_province_name,priority:1"`
	CityCode       string           `gorm:"size:6;not null;index:idx_matters_city_pop,priority:1;index:idx_matters_city_nature_pop,priority:1"`
	OnlineDepth    int              `gorm:"not null;index:idx_matters_online_pop,priority:1"`
	// Popularity ends every composite index, so each filter's page comes out
	// of its index already in the default order (popularity, then id).
	Popularity int       `gorm:"not null;index:idx_matters_pop;index:idx_matters_nature_pop,priority:2;index:idx_matters_level_pop,priority:2;index:idx_matters_agency_pop,priority:2;index:idx_matters_region_pop,priority:2;index:idx_matters_province_pop,priority:2;index:idx_matters_city_pop,priority:2;index:idx_matters_province_nature_pop,priority:3;index:idx_matters_city_nature_pop,priority:3;index:idx_matters_objects_pop,priority:2;index:idx_matters_online_pop,priority:2"`
	CreatedAt  time.Time `gorm:"not null"`
	UpdatedAt  time.Time `gorm:"not null;index"`
}

// MatterTheme links a matter to a theme.
type MatterTheme struct {
	MatterID uint64 `gorm:"primaryKey"`
	ThemeID  uint64 `gorm:"primaryKey;index"`
}

// MatterHall links a matter to a hall where it can be handled.
type MatterHall struct {
	MatterID uint64 `gorm:"primaryKey"`
	HallID   uint64 `gorm:"primaryKey;index"`
}

// MatterGuide is a matter's full guide (办事指南), stored as one JSON document.
type MatterGuide struct {
	MatterID uint64 `gorm:"primaryKey"`
	Guide    Guide  `gorm:"serializer:json;type:text"`
}

// Guide is the content of a 办事指南 (8.1.2 a).
type Guide struct {
	Conditions            []string        `json:"conditions"`
	Materials             []GuideMaterial `json:"materials"`
	Process               []ProcessStep   `json:"process"`
	LegalTimeLimitDays    int             `json:"legalTimeLimitDays"`
	PromisedTimeLimitDays int             `json:"promisedTimeLimitDays"`
	Fees                  []Fee           `json:"fees"`
	LegalBasis            []string        `json:"legalBasis"`
	ConsultPhone          string          `json:"consultPhone"`
	WindowVisits          int             `json:"windowVisits"`
	// OnlineDepth is the matter's, copied in when the guide is loaded.
	OnlineDepth int `json:"-"`
}

// OnlineDepthName describes the guide's online-handling depth.
func (g Guide) OnlineDepthName() string { return OnlineDepthName(g.OnlineDepth) }

// GuideMaterial is one material an applicant hands in.
type GuideMaterial struct {
	Name     string `json:"name"`
	Form     string `json:"form"`
	Copies   int    `json:"copies"`
	Required bool   `json:"required"`
	Note     string `json:"note"`
}

// ProcessStep is one step of a matter's handling process.
type ProcessStep struct {
	Order       int    `json:"order"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

// Fee is one fee item of a matter.
type Fee struct {
	Name   string `json:"name"`
	Amount string `json:"amount"`
	Basis  string `json:"basis"`
}

// FeeDescription describes a guide's fees in words.
func (g Guide) FeeDescription() string {
	if len(g.Fees) == 0 {
		return "不收费"
	}
	return "收费"
}

// NatureName is the Chinese name of the matter's nature.
func (m *Matter) NatureName() string { return m.Nature.Name() }

// LevelName is the Chinese name of the matter's level.
func (m *Matter) LevelName() string { return m.Level.Name() }

// OnlineAvailable reports whether the matter can be applied for online.
func (m *Matter) OnlineAvailable() bool { return m.OnlineDepth >= OnlineAvailableDepth }

// Node is any entity that has a global ID (Relay's Node).
type Node interface{}
