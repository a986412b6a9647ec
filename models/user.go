package models

import "time"

// User is a registered citizen or company account (8.1.2 g). Personal data is
// held only encrypted (…Enc, SM4-GCM under the data key) and, where it must be
// looked up, as a keyed SM3 hash (…Hash); see the identity package.
type User struct {
	ID               uint64   `gorm:"primaryKey"`
	Username         string   `gorm:"size:32;uniqueIndex;not null"`
	UserType         UserType `gorm:"size:16;not null;uniqueIndex:idx_users_identity,priority:1"`
	PasswordHash     string   `gorm:"size:200;not null"`
	RealNameEnc      string   `gorm:"size:200;not null"`
	IDNumberEnc      string   `gorm:"size:200;not null"`
	IDNumberHash     string   `gorm:"size:64;not null;index"`
	PhoneEnc         string   `gorm:"size:200;not null"`
	PhoneHash        string   `gorm:"size:64;not null;index"`
	CreditCodeEnc    string   `gorm:"size:200"`
	CreditCodeHash   string   `gorm:"size:64;index"`
	OrganizationName string   `gorm:"size:200"`
	// IdentityHash is the hash of what makes the account unique for its type:
	// the identity number of a natural person, the credit code of a legal person.
	IdentityHash string    `gorm:"size:64;not null;uniqueIndex:idx_users_identity,priority:2"`
	CreatedAt    time.Time `gorm:"not null"`
	UpdatedAt    time.Time `gorm:"not null"`
}

// PrivacyConsent records one consent to a version of the privacy policy (10.3 h).
type PrivacyConsent struct {
	ID            uint64    `gorm:"primaryKey"`
	UserID        uint64    `gorm:"not null;index"`
	PolicyVersion string    `gorm:"size:32;not null"`
	ConsentedAt   time.Time `gorm:"not null"`
}

// Ticket is a login ticket. Only the SM3 hash of the bearer value is stored,
// so a copy of the database cannot be used to log in.
type Ticket struct {
	ID        uint64     `gorm:"primaryKey"`
	TokenHash string     `gorm:"size:64;uniqueIndex;not null"`
	UserID    uint64     `gorm:"not null;index"`
	CreatedAt time.Time  `gorm:"not null"`
	ExpiresAt time.Time  `gorm:"not null;index"`
	RevokedAt *time.Time `gorm:""`
}

// LoginThrottle counts consecutive failed logins per username, whether or not
// the username exists, so that a lockout reveals nothing about accounts (10.3 f).
type LoginThrottle struct {
	UsernameHash string     `gorm:"primaryKey;size:64"`
	Failures     int        `gorm:"not null"`
	LockedUntil  *time.Time `gorm:""`
	UpdatedAt    time.Time  `gorm:"not null"`
}

// Admin is an account of the service-application management centre. The
// bootstrap super-admin "admin" is created on first start (SPEC §2).
type Admin struct {
	ID           uint64 `gorm:"primaryKey"`
	Username     string `gorm:"size:32;uniqueIndex;not null"`
	PasswordHash string `gorm:"size:200;not null"`
	SuperAdmin   bool   `gorm:"not null"`
	// AgencyID, when not 0, makes the admin a member of that agency's
	// staff, who handles its cases and no other's.
	AgencyID uint64 `gorm:"not null;default:0;index"`
	// RegionCode, when set, limits what the admin manages to that region
	// and the regions below it (a provincial admin: their province).
	RegionCode string `gorm:"size:6;not null;default:''"`
	// Disabled admins cannot log in, and their tickets stop working.
	Disabled  bool      `gorm:"not null;default:false"`
	CreatedAt time.Time `gorm:"not null"`
}

// Role is a named set of permissions (8.2.4), given to administrators.
type Role struct {
	ID          uint64    `gorm:"primaryKey"`
	Name        string    `gorm:"size:64;uniqueIndex;not null"`
	Permissions []string  `gorm:"serializer:json;type:text"`
	CreatedAt   time.Time `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"not null"`
}

// AdminRole gives a role to an administrator.
type AdminRole struct {
	AdminID uint64 `gorm:"primaryKey"`
	RoleID  uint64 `gorm:"primaryKey;index"`
}

// KeyMaterial holds a key wrapped (SM4-GCM) by the master key, so that every
// replica sharing the database and the master key file can unwrap it.
type KeyMaterial struct {
	Name      string    `gorm:"primaryKey;size:64"`
	Wrapped   string    `gorm:"size:512;not null"`
	CreatedAt time.Time `gorm:"not null"`
}

// SchemaVersion records each applied database migration.
type SchemaVersion struct {
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Name      string    `gorm:"size:200;not null"`
	AppliedAt time.Time `gorm:"not null"`
}

// UserProfile is a user with personal data decrypted, for the owner's own
// view. It exists only in memory; the GraphQL layer masks it on the way out.
type UserProfile struct {
	ID               uint64
	Username         string
	UserType         UserType
	RealName         string
	IDNumber         string
	Phone            string
	CreditCode       *string // legal persons only
	OrganizationName *string // legal persons only
	CreatedAt        time.Time
}

// UserTypeName is the Chinese name of the user's type.
func (p *UserProfile) UserTypeName() string { return p.UserType.Name() }

// AdminTicket is a login ticket of an administrator; like Ticket, only the
// SM3 hash of the bearer value is stored.
type AdminTicket struct {
	ID        uint64     `gorm:"primaryKey"`
	TokenHash string     `gorm:"size:64;uniqueIndex;not null"`
	AdminID   uint64     `gorm:"not null;index"`
	CreatedAt time.Time  `gorm:"not null"`
	ExpiresAt time.Time  `gorm:"not null;index"`
	RevokedAt *time.Time `gorm:""`
}

// PlatformKey is one of the platform's SM2 signing keys (service codes; later
// signed requests to interfaces). The private key is kept wrapped (SM4-GCM)
// by the master key; the public key is public. The newest key not retired
// signs; a retired key still verifies for a grace period after RetiredAt.
type PlatformKey struct {
	ID        uint64     `gorm:"primaryKey"`
	KeyID     string     `gorm:"size:16;uniqueIndex;not null"`
	Wrapped   string     `gorm:"size:200;not null"`
	PublicKey string     `gorm:"size:130;not null"`
	CreatedAt time.Time  `gorm:"not null"`
	RetiredAt *time.Time `gorm:""`
}
