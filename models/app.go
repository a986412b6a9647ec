package models

import "time"

// App is a service application (服务应用): a light app a citizen opens in the
// mobile terminal. The application management centre (8.2) owns its
// lifecycle; search (8.1.2 c) finds the online ones.
type App struct {
	ID             uint64           `gorm:"primaryKey"`
	Code           string           `gorm:"size:64;uniqueIndex;not null"`
	Name           string           `gorm:"size:200;not null"`
	Aliases        []string         `gorm:"serializer:json;type:text"`
	Summary        string           `gorm:"size:500;not null"`
	Category       string           `gorm:"size:64;not null"`
	ServiceObjects ServiceObjectSet `gorm:"not null"`
	// RegionCode is empty for an app offered nationwide.
	RegionCode string    `gorm:"size:6;not null;index"`
	URL        string    `gorm:"size:500;not null"`
	Online     bool      `gorm:"not null"`
	Popularity int       `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	UpdatedAt  time.Time `gorm:"not null"`

	// The life cycle in the management centre (package apps). Apps of
	// earlier releases are open H5 apps, online.
	//
	// Kind is IDENTITY (the user logs in through the terminal, 9.2) or OPEN
	// (a fully open H5 page, 9.1 note).
	Kind   string `gorm:"size:16;not null;default:OPEN"`
	Status string `gorm:"size:16;not null;default:ONLINE;index"`
	// AgencyID is the unit that connects the app (接入单位), 0 for none;
	// OwnerID the administrator who created it, alerted when it is taken
	// offline automatically.
	AgencyID uint64 `gorm:"not null;default:0"`
	OwnerID  uint64 `gorm:"not null;default:0"`
	// Grade is the app's security grade (分级, 1 to 3: 3 handles the most
	// sensitive data); Category above is its classification (分类).
	Grade int `gorm:"not null;default:1"`
	// Version counts the changes that need testing and review again;
	// TestedVersion is the version the last passing function test ran on.
	Version       int        `gorm:"not null;default:1"`
	TestedVersion int        `gorm:"not null;default:0"`
	TestedAt      *time.Time `gorm:""`
	SubmittedBy   uint64     `gorm:"not null;default:0"`
	LastEditedBy  uint64     `gorm:"not null;default:0"`
	ReviewedBy    uint64     `gorm:"not null;default:0"`
	ReviewNote    string     `gorm:"size:500;not null;default:''"`
	// OfflineReason says why the app was taken offline; OfflineAuto that
	// the platform did it (9.5).
	OfflineReason string `gorm:"size:500;not null;default:''"`
	OfflineAuto   bool   `gorm:"not null;default:false"`
}

// AppInterface binds a source interface to the app that uses it.
type AppInterface struct {
	AppID       uint64 `gorm:"primaryKey;autoIncrement:false"`
	InterfaceID uint64 `gorm:"primaryKey;autoIncrement:false;index"`
}

// AppFile is a file of an app or of a filing: an installation package, an
// H5 bundle or an icon, kept by its SM3 digest.
type AppFile struct {
	ID          uint64    `gorm:"primaryKey"`
	AppID       uint64    `gorm:"not null;default:0;index"`
	FilingID    uint64    `gorm:"not null;default:0;index"`
	Kind        string    `gorm:"size:16;not null"`
	Name        string    `gorm:"size:200;not null"`
	ContentType string    `gorm:"size:100;not null"`
	Size        int64     `gorm:"not null"`
	SM3         string    `gorm:"size:64;not null"`
	UploadedBy  uint64    `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
}

// AppPublication places an online app in a hall of the terminal (分厅): the
// national terminal, a province's or a department's, with how it shows
// there.
type AppPublication struct {
	ID    uint64 `gorm:"primaryKey"`
	AppID uint64 `gorm:"not null;uniqueIndex:idx_app_publications_app_hall,priority:1"`
	// Hall is NATIONAL, REGION:<code> or AGENCY:<id>.
	Hall        string    `gorm:"size:40;not null;uniqueIndex:idx_app_publications_app_hall,priority:2;index"`
	DisplayName string    `gorm:"size:100;not null"`
	IconFileID  uint64    `gorm:"not null;default:0"`
	Category    string    `gorm:"size:64;not null"`
	SortOrder   int       `gorm:"not null"`
	PublishedBy uint64    `gorm:"not null"`
	PublishedAt time.Time `gorm:"not null"`
}

// AppEvent is a step in an app's life (created, submitted, reviewed,
// published, taken offline, tested, …).
type AppEvent struct {
	ID      uint64    `gorm:"primaryKey"`
	AppID   uint64    `gorm:"not null;index"`
	Action  string    `gorm:"size:24;not null"`
	AdminID uint64    `gorm:"not null"`
	Note    string    `gorm:"size:500;not null"`
	At      time.Time `gorm:"not null"`
}

// AppUsage is an app's use on one day (UTC+8 calendar day, YYYY-MM-DD).
type AppUsage struct {
	AppID  uint64 `gorm:"primaryKey;autoIncrement:false"`
	Day    string `gorm:"primaryKey;size:10"`
	Opens  int64  `gorm:"not null"`
	Users  int64  `gorm:"not null"`
	Calls  int64  `gorm:"not null"`
	Errors int64  `gorm:"not null"`
}

// AppUser marks that a user opened an app on a day, so users are counted
// once a day.
type AppUser struct {
	AppID  uint64 `gorm:"primaryKey;autoIncrement:false"`
	Day    string `gorm:"primaryKey;size:10"`
	UserID uint64 `gorm:"primaryKey;autoIncrement:false"`
}

// AppFeedback is optimisation feedback on an app (8.2.3 d), archived when
// dealt with.
type AppFeedback struct {
	ID         uint64 `gorm:"primaryKey"`
	AppID      uint64 `gorm:"not null;index"`
	AdminID    uint64 `gorm:"not null"`
	Content    string `gorm:"size:2000;not null"`
	Status     string `gorm:"size:16;not null"`
	Resolution string `gorm:"size:500;not null;default:''"`
	ArchivedBy uint64 `gorm:"not null;default:0"`
	ArchivedAt *time.Time
	CreatedAt  time.Time `gorm:"not null"`
}

// AdminNotice is a notice to one administrator, such as an app of theirs
// taken offline automatically.
type AdminNotice struct {
	ID        uint64    `gorm:"primaryKey"`
	AdminID   uint64    `gorm:"not null;index"`
	Title     string    `gorm:"size:200;not null"`
	Body      string    `gorm:"size:1000;not null"`
	AppID     uint64    `gorm:"not null;default:0"`
	Read      bool      `gorm:"column:is_read;not null;default:false"`
	CreatedAt time.Time `gorm:"not null"`
}

// Filing is a provincial or departmental mobile terminal's filing with the
// national platform (clause 10): its naming, its responsible unit and its
// installation package, reviewed before the terminal may go online.
// Contact phones are sealed (personal data).
type Filing struct {
	ID uint64 `gorm:"primaryKey"`
	// Kind is PROVINCIAL (RegionCode is the province) or DEPARTMENTAL
	// (AgencyID is the department).
	Kind       string `gorm:"size:16;not null"`
	RegionCode string `gorm:"size:6;not null;index"`
	AgencyID   uint64 `gorm:"not null;default:0"`
	// Naming (命名信息).
	Name        string `gorm:"size:100;not null"`
	MarketName  string `gorm:"size:100;not null"`
	PackageName string `gorm:"size:200;not null"`
	Version     string `gorm:"size:40;not null"`
	// The responsible unit (10.2).
	ResponsibleDept string `gorm:"size:200;not null"`
	Authority       string `gorm:"size:200;not null"`
	AuthorityPhone  string `gorm:"type:text"`
	Supervisor      string `gorm:"size:100;not null"`
	SupervisorPhone string `gorm:"type:text"`
	TechUnit        string `gorm:"size:200;not null"`
	TechContact     string `gorm:"size:100;not null"`
	TechPhone       string `gorm:"type:text"`
	PackageFileID   uint64 `gorm:"not null;default:0"`
	Status          string `gorm:"size:16;not null;index"`
	// Checklist holds the reviewer's verdict on each item of 10.3.
	Checklist    map[string]bool `gorm:"serializer:json;type:text"`
	ReviewNote   string          `gorm:"size:500;not null"`
	FiledBy      uint64          `gorm:"not null"`
	LastEditedBy uint64          `gorm:"not null;default:0"`
	SubmittedBy  uint64          `gorm:"not null;default:0"`
	ReviewedBy   uint64          `gorm:"not null;default:0"`
	CreatedAt    time.Time       `gorm:"not null"`
	UpdatedAt    time.Time       `gorm:"not null"`
}

// AppCredential is what a third-party app (9.2) authenticates with and
// receives user information under: its SM2 public key (its server signs
// exchanges with the private half), the user fields it asks for, and its
// SM4 data key, sealed by the master key, rotated by version.
type AppCredential struct {
	AppID          uint64    `gorm:"primaryKey;autoIncrement:false"`
	PublicKeyHex   string    `gorm:"size:130;not null"`
	Fields         []string  `gorm:"serializer:json;type:text"`
	DataKey        string    `gorm:"type:text"`
	DataKeyVersion int       `gorm:"not null;default:0"`
	UpdatedAt      time.Time `gorm:"not null"`
}

// AppConsent is a user's authorization of an app to receive the listed
// fields; revoked when RevokedAt is set, granted again by a new consent.
type AppConsent struct {
	ID        uint64   `gorm:"primaryKey"`
	UserID    uint64   `gorm:"not null;uniqueIndex:idx_app_consents_user_app,priority:1"`
	AppID     uint64   `gorm:"not null;uniqueIndex:idx_app_consents_user_app,priority:2"`
	Fields    []string `gorm:"serializer:json;type:text"`
	GrantedAt time.Time
	RevokedAt *time.Time
}

// AppTicket is a one-time ticket (9.2.3) an app's server exchanges for the
// user's information: bound to the app and the user, valid 5 minutes, only
// its SM3 hash kept.
type AppTicket struct {
	ID        uint64    `gorm:"primaryKey"`
	Hash      string    `gorm:"size:64;not null;uniqueIndex"`
	AppID     uint64    `gorm:"not null"`
	UserID    uint64    `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
	UsedAt    *time.Time
}

// ExchangeNonce is a nonce an app has used in a signed request, kept for
// the signature window so it cannot be replayed.
type ExchangeNonce struct {
	AppID uint64    `gorm:"primaryKey;autoIncrement:false"`
	Nonce string    `gorm:"primaryKey;size:128"`
	At    time.Time `gorm:"not null;index"`
}
