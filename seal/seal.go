// Package seal keeps agencies' electronic seals (8.3.2 b): each seal an SM2
// key pair whose private half is sealed under the master key, with
// certificate data naming the seal, its agency and its public key. Sealing
// a document is an SM2 signature over the seal's certificate data, the
// document's SM3 digest and the time; verifying tells whether the
// signature is genuine, which seal and agency made it, when, and whether
// the document changed since. Who may use a seal, until when, is granted
// per administrator or app; case result documents are sealed with their
// agency's seal when uploaded.
package seal

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/validate"
)

// Service keeps seals.
type Service struct {
	db   *gorm.DB
	keys *gm.Keyring
}

// New returns the seal service; keys seal the seals' private keys.
func New(db *gorm.DB, keys *gm.Keyring) *Service { return &Service{db: db, keys: keys} }

// Cert is a seal's certificate data: what every signature of the seal
// covers, so a verifier learns the seal's name and agency from it.
type Cert struct {
	Version    int    `json:"v"`
	SealID     uint64 `json:"sealId"`
	Name       string `json:"name"`
	AgencyID   uint64 `json:"agencyId"`
	AgencyName string `json:"agency"`
	PublicKey  string `json:"publicKey"`
	IssuedAt   string `json:"issuedAt"`
}

// Signer is who seals: an administrator, an app, or the platform itself
// (case results).
type Signer struct {
	Kind string // ADMIN, APP or SYSTEM
	ID   uint64
}

// Signer kinds.
const (
	SignerAdmin  = "ADMIN"
	SignerApp    = "APP"
	SignerSystem = "SYSTEM"
)

var (
	errSealNotFound = models.Errorf(models.ECodeNotFound, "没有找到这枚印章。")
	sm3Re           = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

func keyContext(sealID uint64) string { return "seal-key:" + strconv.FormatUint(sealID, 10) }

// certMAC binds a seal's public key to its certificate data under the
// platform's HMAC key.
func (s *Service) certMAC(publicKey, cert string) string {
	return s.keys.BlindIndex("SEAL_CERT", publicKey+"\n"+cert)
}

// Create makes an agency a new seal.
func (s *Service) Create(ctx context.Context, adminID uint64, agency *models.Agency, name string, forDocuments bool) (*models.Seal, error) {
	name, err := validate.Text("name", "印章名称", name, 100, "")
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, models.InvalidField("name", "请填写印章名称，如“××局行政审批专用章”。")
	}
	priv, err := gm.GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	seal := &models.Seal{AgencyID: agency.ID, Name: name, PublicKey: gm.SM2PublicKeyHex(&priv.PublicKey), CreatedBy: adminID, CreatedAt: now}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		seal.ID, seal.PrivateKey, seal.CertData = 0, "-", "-"
		if err := tx.Create(seal).Error; err != nil {
			return err
		}
		cert, _ := json.Marshal(Cert{Version: 1, SealID: seal.ID, Name: name, AgencyID: agency.ID, AgencyName: agency.Name,
			PublicKey: seal.PublicKey, IssuedAt: now.Format(time.RFC3339)})
		sealed, err := s.keys.SealString(gm.SM2PrivateKeyHex(priv), keyContext(seal.ID))
		if err != nil {
			return err
		}
		seal.PrivateKey, seal.CertData, seal.CertMAC = sealed, string(cert), s.certMAC(seal.PublicKey, string(cert))
		if forDocuments {
			if err := tx.Model(&models.Seal{}).Where("agency_id = ? AND id <> ?", agency.ID, seal.ID).Update("for_documents", false).Error; err != nil {
				return err
			}
			seal.ForDocuments = true
		}
		return tx.Model(seal).Updates(map[string]any{"private_key": sealed, "cert_data": seal.CertData, "cert_mac": seal.CertMAC, "for_documents": seal.ForDocuments}).Error
	})
	if err != nil {
		return nil, err
	}
	return seal, nil
}

// Get is one seal.
func (s *Service) Get(ctx context.Context, id uint64) (*models.Seal, error) {
	return database.Take[models.Seal](s.db.WithContext(ctx), id, errSealNotFound)
}

// OfAgencies are the seals of the given agencies (all when nil), newest first.
func (s *Service) OfAgencies(ctx context.Context, agencyIDs []uint64) ([]*models.Seal, error) {
	q := s.db.WithContext(ctx).Order("id DESC").Limit(500)
	if agencyIDs != nil {
		q = q.Where("agency_id IN ?", agencyIDs)
	}
	var out []*models.Seal
	return out, q.Find(&out).Error
}

// Revoke retires a seal: it seals nothing more; what it sealed before
// still verifies, marked as sealed by a seal since revoked.
func (s *Service) Revoke(ctx context.Context, id uint64) (*models.Seal, error) {
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		// The seal row is held first (as sealing holds it), and only then
		// is the time read: a sealing either committed before, with an
		// earlier time, or waits and then finds the seal revoked.
		q := tx
		if tx.Dialector.Name() == "mysql" {
			q = q.Clauses(clause.Locking{Strength: "UPDATE"})
		}
		seal, err := database.Take[models.Seal](q, id, errSealNotFound)
		if err != nil {
			return err
		}
		if seal.RevokedAt != nil {
			return models.Errorf(models.ECodeConflict, "这枚印章已经停用。")
		}
		return tx.Model(&models.Seal{}).Where("id = ?", id).Update("revoked_at", time.Now().UTC()).Error
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Grant lets an administrator or an app use a seal until a time.
func (s *Service) Grant(ctx context.Context, adminID, sealID uint64, grantee Signer, until time.Time) (*models.SealGrant, error) {
	if grantee.Kind != SignerAdmin && grantee.Kind != SignerApp {
		return nil, models.InvalidField("grantee", "只能授权给管理员或应用。")
	}
	now := time.Now().UTC()
	if !until.After(now) || until.After(now.AddDate(3, 0, 0)) {
		return nil, models.InvalidField("validUntil", "授权截止时间应在现在之后、三年之内。")
	}
	seal, err := s.Get(ctx, sealID)
	if err != nil {
		return nil, err
	}
	if seal.RevokedAt != nil {
		return nil, models.Errorf(models.ECodeConflict, "这枚印章已经停用，不能授权。")
	}
	g := &models.SealGrant{SealID: sealID, GranteeKind: grantee.Kind, GranteeID: grantee.ID, ValidUntil: until.UTC(), CreatedBy: adminID, CreatedAt: now}
	return g, s.db.WithContext(ctx).Create(g).Error
}

// RevokeGrant ends a grant.
func (s *Service) RevokeGrant(ctx context.Context, grantID uint64) (*models.SealGrant, error) {
	res := s.db.WithContext(ctx).Model(&models.SealGrant{}).Where("id = ? AND revoked_at IS NULL", grantID).Update("revoked_at", time.Now().UTC())
	if res.Error != nil {
		return nil, res.Error
	}
	g, err := database.Take[models.SealGrant](s.db.WithContext(ctx), grantID, models.Errorf(models.ECodeNotFound, "没有找到这项授权。"))
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.ECodeConflict, "这项授权已经撤销。")
	}
	return g, nil
}

// GrantByID is one grant.
func (s *Service) GrantByID(ctx context.Context, id uint64) (*models.SealGrant, error) {
	return database.Take[models.SealGrant](s.db.WithContext(ctx), id, models.Errorf(models.ECodeNotFound, "没有找到这项授权。"))
}

// Grants are a seal's grants, newest first.
func (s *Service) Grants(ctx context.Context, sealID uint64) ([]*models.SealGrant, error) {
	var out []*models.SealGrant
	return out, s.db.WithContext(ctx).Where("seal_id = ?", sealID).Order("id DESC").Limit(200).Find(&out).Error
}

// message is what a seal signature covers: the seal's certificate data,
// the document, the time, who sealed it, for which case file, and a nonce
// of its own.
func message(certData string, r *models.SealRecord) []byte {
	return []byte("GOVSEAL2\n" + gm.SM3Hex([]byte(certData)) + "\n" + r.DocumentSM3 + "\n" + strconv.FormatInt(r.SignedAt.UnixMilli(), 10) +
		"\n" + r.SignerKind + ":" + strconv.FormatUint(r.SignerID, 10) + "\n" + strconv.FormatUint(r.CaseFileID, 10) + "\n" + r.Nonce)
}

// Sign seals a document, given by its SM3 digest (64 lower-case hex
// digits), with a seal the signer holds a grant for now (the platform
// seals its agencies' documents without one).
func (s *Service) Sign(ctx context.Context, sealID uint64, who Signer, documentSM3 string, caseFileID uint64) (*models.SealRecord, error) {
	var out *models.SealRecord
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var err error
		out, err = s.SignTx(tx, sealID, who, documentSM3, caseFileID)
		return err
	})
	return out, err
}

// SignTx is Sign in the caller's transaction: the seal and the grant are
// checked, and the record written, together, so a revocation is either
// before the sealing (refused) or after it.
func (s *Service) SignTx(tx *gorm.DB, sealID uint64, who Signer, documentSM3 string, caseFileID uint64) (*models.SealRecord, error) {
	if !sm3Re.MatchString(documentSM3) {
		return nil, models.InvalidField("sm3", "文件摘要应为64位小写十六进制的 SM3 值。")
	}
	now := time.Now().UTC()
	// The grant first: a signer without one learns nothing of the seal,
	// not even whether it exists or was revoked.
	if who.Kind != SignerSystem {
		var n int64
		if err := tx.Model(&models.SealGrant{}).Where("seal_id = ? AND grantee_kind = ? AND grantee_id = ? AND revoked_at IS NULL AND valid_until > ?",
			sealID, who.Kind, who.ID, now).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, models.Errorf(models.ECodeForbidden, "您没有这枚印章的有效用印授权。")
		}
	}
	q := tx
	if tx.Dialector.Name() == "mysql" {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	seal, err := database.Take[models.Seal](q, sealID, errSealNotFound)
	if err != nil {
		return nil, err
	}
	if seal.RevokedAt != nil {
		return nil, models.Errorf(models.ECodeConflict, "这枚印章已经停用。")
	}
	keyHex, err := s.keys.OpenString(seal.PrivateKey, keyContext(seal.ID))
	if err != nil {
		return nil, err
	}
	priv, err := gm.ParseSM2PrivateKeyHex(keyHex)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	r := &models.SealRecord{SealID: seal.ID, DocumentSM3: documentSM3, SignedAt: now.Truncate(time.Millisecond),
		SignerKind: who.Kind, SignerID: who.ID, CaseFileID: caseFileID, Nonce: hex.EncodeToString(nonce)}
	sig, err := gm.SM2Sign(priv, message(seal.CertData, r))
	if err != nil {
		return nil, err
	}
	r.Signature = base64.StdEncoding.EncodeToString(sig)
	return r, tx.Create(r).Error
}

// DocumentSeal is the agency's seal for the documents the platform seals
// for it, or nil.
func (s *Service) DocumentSeal(tx *gorm.DB, agencyID uint64) (*models.Seal, error) {
	var seal models.Seal
	err := tx.Where("agency_id = ? AND for_documents = ? AND revoked_at IS NULL", agencyID, true).Take(&seal).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &seal, err
}

// SealAgencyDocument seals a document for an agency with its seal for
// documents, as the platform, in the caller's transaction; nil when the
// agency has none.
func (s *Service) SealAgencyDocument(tx *gorm.DB, agencyID uint64, documentSM3 string, caseFileID uint64) (*models.SealRecord, error) {
	seal, err := s.DocumentSeal(tx, agencyID)
	if err != nil || seal == nil {
		return nil, err
	}
	return s.SignTx(tx, seal.ID, Signer{Kind: SignerSystem}, documentSM3, caseFileID)
}

// Verification is what verifying a sealing tells.
type Verification struct {
	// Genuine: the signature verifies under the seal's key over its
	// certificate data, the recorded digest and time.
	Genuine bool
	// DocumentChanged: the document given is not the one sealed.
	DocumentChanged bool
	Seal            *models.Seal
	Cert            Cert
	Record          *models.SealRecord
	// SealRevoked: the seal has since been retired (the sealing stands).
	SealRevoked bool
}

// Verify checks a sealing record against a document's SM3 digest.
func (s *Service) Verify(ctx context.Context, recordID uint64, documentSM3 string) (*Verification, error) {
	if !sm3Re.MatchString(documentSM3) {
		return nil, models.InvalidField("sm3", "文件摘要应为64位小写十六进制的 SM3 值。")
	}
	r, err := database.Take[models.SealRecord](s.db.WithContext(ctx), recordID, models.Errorf(models.ECodeNotFound, "没有找到这次用印记录。"))
	if err != nil {
		return nil, err
	}
	seal, err := s.Get(ctx, r.SealID)
	if err != nil {
		return nil, err
	}
	if documentSM3 != r.DocumentSM3 {
		// Not the document sealed: nothing about the sealing is told, so
		// record numbers cannot be walked to learn who sealed what, when.
		return &Verification{DocumentChanged: true}, nil
	}
	v := &Verification{Seal: seal, Record: r, SealRevoked: seal.RevokedAt != nil}
	if err := json.Unmarshal([]byte(seal.CertData), &v.Cert); err != nil {
		return nil, fmt.Errorf("seal %d: certificate data: %w", seal.ID, err)
	}
	pub, err := gm.ParseSM2PublicKeyHex(v.Cert.PublicKey)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(r.Signature)
	r.SignedAt = r.SignedAt.UTC()
	v.Genuine = err == nil && v.Cert.PublicKey == seal.PublicKey && seal.CertMAC == s.certMAC(seal.PublicKey, seal.CertData) &&
		// Nothing signed once the seal was revoked counts.
		(seal.RevokedAt == nil || r.SignedAt.Before(*seal.RevokedAt)) &&
		gm.SM2Verify(pub, message(seal.CertData, r), sig)
	return v, nil
}

// RecordOfFile is the sealing of a case file, or nil.
func (s *Service) RecordOfFile(ctx context.Context, caseFileID uint64) (*models.SealRecord, error) {
	var r models.SealRecord
	err := s.db.WithContext(ctx).Where("case_file_id = ?", caseFileID).Order("id DESC").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &r, err
}
