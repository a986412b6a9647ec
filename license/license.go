// Package license is the electronic licence wallet (8.3.2 c): agencies
// issue licences to citizens and companies (as case results or imported),
// each sealed with the issuing agency's electronic seal; holders see their
// licences (personal parts masked), download the sealed licence file, and
// show a licence by a short-lived QR code signed by the platform (亮证);
// anyone verifies a licence file or a shown code (核验): genuine, revoked
// or expired.
package license

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/identity"
	"govmobile/models"
	"govmobile/platformkey"
	"govmobile/seal"
	"govmobile/validate"
)

// ShowLifetime is how long a shown licence code is valid.
const ShowLifetime = 3 * time.Minute

// Service keeps licences.
type Service struct {
	db       *gorm.DB
	keys     *gm.Keyring
	identity *identity.Service
	seals    *seal.Service
	ring     *platformkey.Ring
	now      func() time.Time
}

// New returns the licence service.
func New(db *gorm.DB, keys *gm.Keyring, id *identity.Service, seals *seal.Service, ring *platformkey.Ring) *Service {
	return &Service{db: db, keys: keys, identity: id, seals: seals, ring: ring, now: func() time.Time { return time.Now().UTC() }}
}

// Field is one line of a licence's content.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Document is a licence's canonical content: what the seal covers, what
// the licence file carries.
type Document struct {
	Version    int     `json:"v"`
	LicenseID  uint64  `json:"licenseId"`
	Kind       string  `json:"kind"`
	Title      string  `json:"title"`
	Number     string  `json:"number"`
	HolderName string  `json:"holder"`
	HolderType string  `json:"holderType"`
	Issuer     string  `json:"issuer"`
	IssuerID   uint64  `json:"issuerId"`
	IssuedAt   string  `json:"issuedAt"`
	ExpiresAt  string  `json:"expiresAt,omitempty"`
	Fields     []Field `json:"fields"`
}

// Input is a licence an agency issues (IssuedBy: the administrator).
type Input struct {
	IssuedBy     uint64
	HolderUserID uint64
	CaseID       uint64
	Kind, Title  string
	Number       string
	ExpiresAt    *time.Time
	Fields       []Field
}

func ctxOf(id uint64, col string) string { return "license:" + col + ":" + strconv.FormatUint(id, 10) }

// Issue issues a licence to a holder, sealed with the agency's newest seal
// in force; an agency without one is CONFLICT.
func (s *Service) Issue(ctx context.Context, agency *models.Agency, in Input) (*models.License, error) {
	var err error
	if in.Kind = strings.ToUpper(strings.TrimSpace(in.Kind)); len(in.Kind) < 2 || len(in.Kind) > 40 || strings.ContainsFunc(in.Kind, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r == '_' || r >= '0' && r <= '9')
	}) {
		return nil, models.InvalidField("kind", "证照类型代码应为2到40个大写字母、数字或下划线，如 BUSINESS_LICENSE。")
	}
	if in.Title, err = validate.Text("title", "证照名称", in.Title, 100, ""); err != nil || in.Title == "" {
		return nil, models.InvalidField("title", "请填写证照名称（至多100字）。")
	}
	if in.Number, err = validate.Text("number", "证照编号", in.Number, 64, ""); err != nil || in.Number == "" {
		return nil, models.InvalidField("number", "请填写证照编号（至多64个字符）。")
	}
	if len(in.Fields) > 30 {
		return nil, models.InvalidField("fields", "证照内容至多30项。")
	}
	for i, f := range in.Fields {
		if in.Fields[i].Name, err = validate.Text("fields", "内容项名称", f.Name, 30, ""); err != nil || in.Fields[i].Name == "" {
			return nil, models.InvalidField("fields", "每项内容须有名称（至多30字）。")
		}
		if in.Fields[i].Value, err = validate.Text("fields", "内容", f.Value, 500, ""); err != nil {
			return nil, err
		}
	}
	now := s.now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, models.InvalidField("expiresAt", "有效期截止应在现在之后。")
	}
	var holder models.User
	if err := s.db.WithContext(ctx).Take(&holder, in.HolderUserID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到持证人。")
	} else if err != nil {
		return nil, err
	}
	var out *models.License
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		l := &models.License{HolderUserID: holder.ID, Kind: in.Kind, Title: in.Title, NumberEnc: "-", HolderNameEnc: "-", DocumentEnc: "-",
			DocumentSM3: strings.Repeat("0", 64), IssuerAgencyID: agency.ID, IssuedBy: in.IssuedBy, CaseID: in.CaseID, IssuedAt: now, ExpiresAt: in.ExpiresAt, CreatedAt: now}
		if err := tx.Create(l).Error; err != nil {
			return err
		}
		name, err := s.holderName(&holder)
		if err != nil {
			return err
		}
		doc := Document{Version: 1, LicenseID: l.ID, Kind: in.Kind, Title: in.Title, Number: in.Number, HolderName: name, HolderType: string(holder.UserType),
			Issuer: agency.Name, IssuerID: agency.ID, IssuedAt: now.Format(time.RFC3339), Fields: in.Fields}
		if in.ExpiresAt != nil {
			doc.ExpiresAt = in.ExpiresAt.UTC().Format(time.RFC3339)
		}
		if doc.Fields == nil {
			doc.Fields = []Field{}
		}
		raw, _ := json.Marshal(doc)
		digest := gm.SM3Hex(raw)
		rec, err := s.seals.SealAgencyDocument(tx, agency.ID, digest, 0)
		if err != nil {
			return err
		}
		if rec == nil {
			return models.Errorf(models.ECodeConflict, "本部门还没有启用用于签发文书的电子印章，不能签发电子证照。")
		}
		cols := map[string]any{"document_sm3": digest, "seal_record_id": rec.ID}
		for col, v := range map[string]string{"number_enc": in.Number, "holder_name_enc": name, "document_enc": string(raw)} {
			if cols[col], err = s.keys.SealString(v, ctxOf(l.ID, col)); err != nil {
				return err
			}
		}
		if err := tx.Model(l).Updates(cols).Error; err != nil {
			return err
		}
		out, err = database.Take[models.License](tx, l.ID, errNotFound)
		return err
	})
	return out, err
}

// holderName is the name a licence carries: the person's, or the
// organisation's.
func (s *Service) holderName(u *models.User) (string, error) {
	if u.UserType == models.UserLegalPerson && u.OrganizationName != "" {
		return u.OrganizationName, nil
	}
	p, err := s.identity.Profile(u)
	if err != nil {
		return "", err
	}
	return p.RealName, nil
}

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个证照。")

// Get is a licence.
func (s *Service) Get(ctx context.Context, id uint64) (*models.License, error) {
	return database.Take[models.License](s.db.WithContext(ctx), id, errNotFound)
}

// CountForCase is how many licences of a kind were issued for a case.
func (s *Service) CountForCase(ctx context.Context, caseID uint64, kind string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.License{}).Where("case_id = ? AND kind = ?", caseID, strings.ToUpper(strings.TrimSpace(kind))).Count(&n).Error
	return n, err
}

// Wallet is a holder's licences, newest first.
func (s *Service) Wallet(ctx context.Context, userID uint64) ([]*models.License, error) {
	var out []*models.License
	return out, s.db.WithContext(ctx).Where("holder_user_id = ?", userID).Order("id DESC").Limit(200).Find(&out).Error
}

// Open reads a licence's sealed parts: its document.
func (s *Service) Open(l *models.License) (*Document, []byte, error) {
	raw, err := s.keys.OpenString(l.DocumentEnc, ctxOf(l.ID, "document_enc"))
	if err != nil {
		return nil, nil, err
	}
	var d Document
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		return nil, nil, err
	}
	return &d, []byte(raw), nil
}

// Revoke revokes a licence with a reason.
func (s *Service) Revoke(ctx context.Context, id uint64, reason string) (*models.License, error) {
	reason, err := validate.Text("reason", "注销原因", reason, 300, "")
	if err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, models.InvalidField("reason", "请说明注销原因。")
	}
	res := s.db.WithContext(ctx).Model(&models.License{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": s.now(), "revoke_reason": reason})
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		if _, err := s.Get(ctx, id); err != nil {
			return nil, err
		}
		return nil, models.Errorf(models.ECodeConflict, "这个证照已经注销。")
	}
	return s.Get(ctx, id)
}

// File is a licence file: the document and its seal, as the holder
// downloads it and a third party verifies it.
type File struct {
	Document json.RawMessage `json:"document"`
	Seal     FileSeal        `json:"seal"`
}

// FileSeal is the seal on a licence file.
// It carries what the signature covers, so it can be checked offline with
// the seal's public key (in cert): the message is
// "GOVSEAL2\n" + hex(SM3(cert)) + "\n" + sm3 + "\n" + signedAtMs + "\n" +
// signer + "\n" + caseFileId + "\n" + nonce.
type FileSeal struct {
	RecordID   uint64 `json:"recordId"`
	SM3        string `json:"sm3"`
	SignedAt   string `json:"signedAt"`
	SignedAtMs int64  `json:"signedAtMs"`
	Signer     string `json:"signer"`
	CaseFileID uint64 `json:"caseFileId"`
	Nonce      string `json:"nonce"`
	Signature  string `json:"signature"`
	Cert       string `json:"cert"`
}

// FileOf is a licence's file.
func (s *Service) FileOf(ctx context.Context, l *models.License) ([]byte, error) {
	_, raw, err := s.Open(l)
	if err != nil {
		return nil, err
	}
	v, err := s.seals.Verify(ctx, l.SealRecordID, l.DocumentSM3)
	if err != nil {
		return nil, err
	}
	r := v.Record
	f := File{Document: raw, Seal: FileSeal{RecordID: l.SealRecordID, SM3: l.DocumentSM3, SignedAt: r.SignedAt.UTC().Format(time.RFC3339Nano),
		SignedAtMs: r.SignedAt.UnixMilli(), Signer: r.SignerKind + ":" + strconv.FormatUint(r.SignerID, 10), CaseFileID: r.CaseFileID, Nonce: r.Nonce,
		Signature: r.Signature, Cert: v.Seal.CertData}}
	return json.MarshalIndent(f, "", "  ")
}

// Status is a licence's standing.
type Status string

// The statuses.
const (
	Valid   Status = "VALID"
	Revoked Status = "REVOKED"
	Expired Status = "EXPIRED"
	Forged  Status = "FORGED" // not a licence the platform issued, or altered
)

// Check is a verification's outcome: the licence's standing and, unless
// forged, its details (personal parts masked by the caller).
type Check struct {
	Status   Status
	License  *models.License
	Document *Document
	// CodeExpired: a shown code past its time (Status is then Expired,
	// whatever the licence's own standing).
	CodeExpired bool
}

func (s *Service) standing(l *models.License) Status {
	switch {
	case l.RevokedAt != nil:
		return Revoked
	case l.ExpiresAt != nil && !s.now().Before(*l.ExpiresAt):
		return Expired
	}
	return Valid
}

// VerifyFile verifies a licence file: its document must be the one the
// issuing agency's seal signed (unchanged), and the licence's standing is
// told.
func (s *Service) VerifyFile(ctx context.Context, file string) (*Check, error) {
	if len(file) == 0 || len(file) > 64<<10 {
		return nil, models.InvalidField("file", "请提供证照文件的内容（不超过64 KB）。")
	}
	// One JSON object, no key twice, nothing after it: a file that could
	// read one way to a person and another to this check is forged.
	if !singleObject(file) {
		return &Check{Status: Forged}, nil
	}
	var f File
	dec := json.NewDecoder(strings.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil || len(f.Document) == 0 {
		return &Check{Status: Forged}, nil
	}
	// The document is read strictly and written again the one way it was
	// sealed, so the file's formatting (escapes, spacing, key order) does
	// not matter, and its content does.
	var d Document
	ddec := json.NewDecoder(bytes.NewReader(f.Document))
	ddec.DisallowUnknownFields()
	if ddec.Decode(&d) != nil || d.LicenseID == 0 || !singleObject(string(f.Document)) {
		return &Check{Status: Forged}, nil
	}
	if d.Fields == nil {
		d.Fields = []Field{}
	}
	canonical, _ := json.Marshal(d)
	l, err := s.Get(ctx, d.LicenseID)
	if err != nil {
		if models.ErrorCode(err) == models.ECodeNotFound {
			return &Check{Status: Forged}, nil
		}
		return nil, err
	}
	digest := gm.SM3Hex(canonical)
	v, err := s.seals.Verify(ctx, l.SealRecordID, digest)
	if err != nil {
		return nil, err
	}
	if !v.Genuine || v.DocumentChanged || digest != l.DocumentSM3 ||
		f.Seal.RecordID != l.SealRecordID || f.Seal.Signature != v.Record.Signature || f.Seal.SM3 != digest {
		return &Check{Status: Forged}, nil
	}
	return &Check{Status: s.standing(l), License: l, Document: &d}, nil
}

// showPrefix marks a shown-licence code.
const showPrefix = "GMLIC1."

type showClaims struct {
	KeyID     string `json:"kid"`
	LicenseID uint64 `json:"lid"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
}

// Show makes a short-lived code showing a licence (亮证), signed by the
// platform key, for a verifier to scan.
func (s *Service) Show(ctx context.Context, l *models.License) (string, time.Time, error) {
	if st := s.standing(l); st != Valid {
		return "", time.Time{}, models.Errorf(models.ECodeConflict, "证照已%s，不能出示。", map[Status]string{Revoked: "注销", Expired: "过期"}[st])
	}
	k, err := s.ring.Current(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.now()
	exp := now.Add(ShowLifetime)
	body, _ := json.Marshal(showClaims{KeyID: k.ID, LicenseID: l.ID, IssuedAt: now.Unix(), ExpiresAt: exp.Unix()})
	signed := showPrefix + base64.RawURLEncoding.EncodeToString(body)
	sig, err := k.Sign([]byte(signed))
	if err != nil {
		return "", time.Time{}, err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), exp, nil
}

// VerifyShown verifies a scanned code: the platform's signature, the
// code's time, then the licence's standing.
func (s *Service) VerifyShown(ctx context.Context, payload string) (*Check, error) {
	payload = strings.TrimSpace(payload)
	if payload == "" || len(payload) > 1024 {
		return nil, models.InvalidField("payload", "请提供扫码得到的内容（不超过1024个字符）。")
	}
	forged := &Check{Status: Forged}
	dot := strings.LastIndexByte(payload, '.')
	if !strings.HasPrefix(payload, showPrefix) || dot <= len(showPrefix) {
		return forged, nil
	}
	body, ok1 := gm.StrictBase64URL(payload[len(showPrefix):dot])
	sig, ok2 := gm.StrictBase64URL(payload[dot+1:])
	var c showClaims
	cdec := json.NewDecoder(bytes.NewReader(body))
	cdec.DisallowUnknownFields()
	if !ok1 || !ok2 || cdec.Decode(&c) != nil || c.LicenseID == 0 || c.ExpiresAt <= c.IssuedAt || c.ExpiresAt-c.IssuedAt > int64(ShowLifetime/time.Second) {
		return forged, nil
	}
	ok, retired, err := s.ring.Verify(ctx, c.KeyID, []byte(payload[:dot]), sig)
	if err != nil {
		return nil, err
	}
	if !ok {
		return forged, nil
	}
	// An expired code tells nothing more of the licence: a photo of it
	// keeps no value.
	if retired || s.now().Unix() >= c.ExpiresAt {
		return &Check{Status: Expired, CodeExpired: true}, nil
	}
	l, err := s.Get(ctx, c.LicenseID)
	if err != nil {
		if models.ErrorCode(err) == models.ECodeNotFound {
			return forged, nil
		}
		return nil, err
	}
	d, _, err := s.Open(l)
	if err != nil {
		return nil, err
	}
	return &Check{Status: s.standing(l), License: l, Document: d}, nil
}

// singleObject says whether text is exactly one JSON object, with no key
// repeated at any depth.
func singleObject(text string) bool {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var value func(first json.Token) bool
	value = func(first json.Token) bool {
		switch first {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				key, ok := k.(string)
				if err != nil || !ok || seen[key] {
					return false
				}
				seen[key] = true
				v, err := dec.Token()
				if err != nil || !value(v) {
					return false
				}
			}
		case json.Delim('['):
			for dec.More() {
				v, err := dec.Token()
				if err != nil || !value(v) {
					return false
				}
			}
		default:
			return true // a scalar
		}
		_, err := dec.Token() // the closing delimiter
		return err == nil
	}
	first, err := dec.Token()
	if err != nil || first != json.Delim('{') || !value(first) {
		return false
	}
	_, err = dec.Token()
	return err == io.EOF
}

// Shared is a licence as an app receives it with the holder's consent
// (9.2, inside the SM4 envelope): the document in clear and the sealed
// file, which the app can verify offline or with verifyLicense.
type Shared struct {
	Document *Document `json:"document"`
	File     string    `json:"file"`
}

// SharedWith is the holder's licences in force (not revoked, not expired)
// for an app the holder authorized to read them; at most 50, newest first.
func (s *Service) SharedWith(ctx context.Context, userID uint64) ([]Shared, error) {
	wallet, err := s.Wallet(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := []Shared{}
	for _, l := range wallet {
		if s.standing(l) != Valid || len(out) == 50 {
			continue
		}
		// A licence that cannot be read or whose sealing does not verify is
		// left out, not allowed to fail the user's whole login to the app.
		doc, _, err := s.Open(l)
		if err != nil {
			continue
		}
		file, err := s.FileOf(ctx, l)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			continue
		}
		out = append(out, Shared{Document: doc, File: string(file)})
	}
	return out, nil
}
