package database

import (
	"context"
	"fmt"
	"time"

	"govmobile/models"
	"govmobile/permission"
	"govmobile/search"

	"gorm.io/gorm"
)

// A migration moves the schema from version-1 to version. Migrations are
// append-only: a released one is never edited, a change of models adds one.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

// migrations is the schema's history. Version 1, the first release, runs
// AutoMigrate over the tables of that release. A database at version 1 never runs it
// again, so a later release that changes a model must append a migration
// (AutoMigrate of the changed models — it only adds tables, columns and
// indexes — plus any data fix-up), and add its golden database under
// app/testdata so that TestUpgradeFromEveryRelease proves the upgrade.
var migrations = []migration{
	{1, "initial schema: regions, catalogue, users, tickets", func(tx *gorm.DB) error {
		return tx.AutoMigrate(
			&models.SchemaVersion{}, &models.KeyMaterial{},
			&models.Region{}, &models.Agency{}, &models.Theme{}, &models.Hall{}, &models.Matter{},
			&models.MatterTheme{}, &models.MatterHall{}, &models.MatterGuide{},
			&models.User{}, &models.PrivacyConsent{}, &models.Ticket{}, &models.LoginThrottle{}, &models.Admin{})
	}},
	{2, "smart search: apps, knowledge base, search outbox, synonyms, hot words, search logs; admin tickets", func(tx *gorm.DB) error {
		if err := tx.AutoMigrate(&models.AdminTicket{}, &models.App{}, &models.KnowledgeEntry{}, &models.SearchOutbox{},
			&models.SearchSynonym{}, &models.HotWord{}, &models.SearchLog{}); err != nil {
			return err
		}
		return search.SeedSynonyms(tx)
	}},
	{3, "matter services: appointment slots and bookings, idempotency keys, application forms, cases and their timelines, agency staff, subscriptions and messages, case files", func(tx *gorm.DB) error {
		return tx.AutoMigrate(&models.AppointmentSlot{}, &models.Appointment{}, &models.IdempotencyKey{},
			&models.MatterForm{}, &models.Case{}, &models.CaseEvent{}, &models.Admin{},
			&models.Subscription{}, &models.Message{}, &models.CaseFile{})
	}},
	{4, "case result documents, halls by coordinates and searchable, platform keys, evaluations, consultations, agent chats, audit log, admin roles, interfaces", func(tx *gorm.DB) error {
		err := tx.AutoMigrate(&models.CaseFile{}, &models.Hall{}, &models.PlatformKey{}, &models.Evaluation{}, &models.Rectification{},
			&models.Consultation{}, &models.ConsultationEvent{}, &models.ConsultationFile{}, &models.AgentChat{}, &models.ChatMessage{},
			&models.AuditLog{}, &models.Admin{}, &models.Role{}, &models.AdminRole{}, &models.SourceInterface{}, &models.SensitiveWord{})
		if err != nil {
			return err
		}
		// Agency staff made before roles existed keep what they could do,
		// through the built-in staff role.
		now := time.Now().UTC()
		staff := models.Role{Name: permission.StaffRole, Permissions: permission.StaffPermissions, CreatedAt: now, UpdatedAt: now}
		if err := tx.Where("name = ?", staff.Name).FirstOrCreate(&staff).Error; err != nil {
			return err
		}
		var agencyAdmins []uint64
		if err := tx.Model(&models.Admin{}).Where("agency_id <> 0").Pluck("id", &agencyAdmins).Error; err != nil {
			return err
		}
		for _, id := range agencyAdmins {
			if err := tx.Where(models.AdminRole{AdminID: id, RoleID: staff.ID}).FirstOrCreate(&models.AdminRole{AdminID: id, RoleID: staff.ID}).Error; err != nil {
				return err
			}
		}
		// Halls are searchable from this release: the halls already there
		// reach the index through its outbox.
		var ids []uint64
		if err := tx.Model(&models.Hall{}).Order("id").Pluck("id", &ids).Error; err != nil {
			return err
		}
		for i := 0; i < len(ids); i += 500 {
			if err := search.Enqueue(tx, models.DocHall, ids[i:min(i+500, len(ids))]...); err != nil {
				return err
			}
		}
		return nil
	}},
	{5, "interface auth, health checks, leases; app life cycle (bindings, files, placements, events, usage, feedback, notices); filings; audit before/after; app credentials, consents, tickets; seals, licences", func(tx *gorm.DB) error {
		err := tx.AutoMigrate(&models.SourceInterface{}, &models.InterfaceCheck{}, &models.InterfaceAlert{}, &models.Lease{},
			&models.App{}, &models.AppInterface{}, &models.AppFile{}, &models.AppPublication{}, &models.AppEvent{},
			&models.AppUsage{}, &models.AppUser{}, &models.AppFeedback{}, &models.AdminNotice{}, &models.Filing{}, &models.AuditLog{},
			&models.AppCredential{}, &models.AppConsent{}, &models.AppTicket{}, &models.ExchangeNonce{},
			&models.Seal{}, &models.SealGrant{}, &models.SealRecord{}, &models.License{})
		if err != nil {
			return err
		}
		// Apps of earlier releases are online (the column's default) unless
		// they were hidden.
		return tx.Model(&models.App{}).Where("online = ?", false).UpdateColumn("status", "OFFLINE").Error
	}},
	{6, "payment (fee items, orders, ledger, refunds, notices, receipts, reconciliations); logistics (shipments, tracking, refused webhooks); events and aggregates; incidents, runbooks; seal images", func(tx *gorm.DB) error {
		tables := append(append(append(append([]any{}, models.PaymentTables...), models.LogisticsTables...), models.AnalyticsTables...), models.IncidentTables...)
		// Cases' form values move to a sealed column (values_enc); the
		// clear column is resealed by the running server (cases.SealLegacy).
		tables = append(tables, &models.SealImage{}, &models.Case{})
		return tx.AutoMigrate(tables...)
	}},
}

// LatestVersion is the schema version this build expects.
func LatestVersion() int { return migrations[len(migrations)-1].version }

// Migrate brings the database to LatestVersion, recording each step in
// schema_versions. A database newer than this build is refused rather than
// touched.
func Migrate(ctx context.Context, db *gorm.DB) (from, to int, err error) {
	db = db.WithContext(ctx)
	if err := db.AutoMigrate(&models.SchemaVersion{}); err != nil {
		return 0, 0, fmt.Errorf("create schema_versions: %w", err)
	}
	current, err := CurrentVersion(db)
	if err != nil {
		return 0, 0, err
	}
	from = current
	if current > LatestVersion() {
		return current, current, fmt.Errorf("database schema version %d is newer than this build (%d): upgrade govmobile", current, LatestVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		// DDL is not transactional on MySQL; each step is written to be
		// re-runnable (AutoMigrate is), and the version is recorded after it.
		if err := m.up(db); err != nil {
			return current, current, fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if err := db.Create(&models.SchemaVersion{Version: m.version, Name: m.name, AppliedAt: time.Now().UTC()}).Error; err != nil {
			return current, current, fmt.Errorf("record migration %d: %w", m.version, err)
		}
		current = m.version
	}
	return from, current, nil
}

// CurrentVersion is the highest applied migration, 0 for an empty database.
func CurrentVersion(db *gorm.DB) (int, error) {
	var v *int
	if err := db.Model(&models.SchemaVersion{}).Select("MAX(version)").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}
