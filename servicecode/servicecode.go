// Package servicecode issues and verifies enterprise and personal codes
// (企业码、个人码, 8.1.2 k): a short-lived payload signed by the platform's
// SM2 key, shown as a QR code, that a scanner verifies.
//
// A payload is
//
//	GMSC1.<base64url(claims JSON)>.<base64url(DER SM2 signature)>
//
// and the signature covers "GMSC1.<base64url(claims JSON)>" (SPEC §6: SM2
// over SM3 with the default ID). The claims name the key that signed, the
// kind of code, the holder as a scanner may see them (masked), and when the
// code was issued and expires. A random code ID makes every code different;
// the payload carries no internal or stable identifier of the holder, so
// scanners cannot link one person's scans.
package servicecode

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"rsc.io/qr"

	"govmobile/gm"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/platformkey"
)

// Lifetime is how long a code is valid.
const Lifetime = 2 * time.Minute

// prefix starts every payload: the format and its version.
const prefix = "GMSC1."

// MaxPayloadBytes bounds what Verify looks at.
const MaxPayloadBytes = 1024

// Kind is a kind of code.
type Kind string

// The kinds of code.
const (
	Personal   Kind = "PERSONAL"   // a natural person's 个人码
	Enterprise Kind = "ENTERPRISE" // a legal person's 企业码
)

// Status is what a verification found.
type Status string

// The outcomes of a verification.
const (
	Valid   Status = "VALID"   // signed by the platform, not expired
	Expired Status = "EXPIRED" // signed by the platform, expired
	Forged  Status = "FORGED"  // malformed, altered, or not signed by the platform
)

// Claims are what a code says.
type Claims struct {
	KeyID     string `json:"kid"`
	Kind      Kind   `json:"typ"`
	CodeID    string `json:"jti"`
	Holder    string `json:"name"` // masked name, or the organisation's name
	Number    string `json:"no"`   // masked identity number or credit code
	UserType  string `json:"ut"`   // NATURAL_PERSON or LEGAL_PERSON
	IssuedAt  int64  `json:"iat"`  // Unix seconds
	ExpiresAt int64  `json:"exp"`  // Unix seconds
}

// Code is an issued code.
type Code struct {
	Payload   string
	ExpiresAt time.Time
	PNG       []byte // the payload as a QR code
}

// Service issues and verifies codes with the platform's keys.
type Service struct {
	keys *platformkey.Ring
	now  func() time.Time
}

// New returns the code service.
func New(keys *platformkey.Ring) *Service { return &Service{keys: keys, now: time.Now} }

// Issue makes a code of the kind for the holder (their decrypted profile).
// An enterprise code is only for a legal person's account.
func (s *Service) Issue(ctx context.Context, p *models.UserProfile, kind Kind) (*Code, error) {
	now := s.now()
	c := Claims{Kind: kind, UserType: string(p.UserType), IssuedAt: now.Unix(), ExpiresAt: now.Add(Lifetime).Unix()}
	switch kind {
	case Personal:
		c.Holder, c.Number = mask.Name(p.RealName), mask.IDNumber(p.IDNumber)
	case Enterprise:
		if p.UserType != models.UserLegalPerson || p.OrganizationName == nil || p.CreditCode == nil {
			return nil, models.Errorf(models.ECodeForbidden, "企业码只能由法人账号申领。")
		}
		c.Holder, c.Number = *p.OrganizationName, mask.CreditCode(*p.CreditCode)
	default:
		return nil, models.InvalidField("kind", "码的类型只能是 PERSONAL 或 ENTERPRISE。")
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	c.CodeID = hex.EncodeToString(id)
	payload, err := s.sign(ctx, c)
	if err != nil {
		return nil, err
	}
	png, err := drawQR(payload)
	if err != nil {
		return nil, err
	}
	return &Code{Payload: payload, ExpiresAt: time.Unix(c.ExpiresAt, 0).UTC(), PNG: png}, nil
}

// drawQR draws the payload as a PNG QR code (error correction level M),
// 4 pixels a module with the quiet zone: about 300 pixels square. A code is
// drawn on every request; rsc.io/qr does it in about a quarter of a
// millisecond, fifteen times faster than go-qrcode.
func drawQR(payload string) ([]byte, error) {
	c, err := qr.Encode(payload, qr.M)
	if err != nil {
		return nil, fmt.Errorf("draw service code: %w", err)
	}
	c.Scale = 4
	return c.PNG(), nil
}

// sign writes the claims as a payload under the current key.
func (s *Service) sign(ctx context.Context, c Claims) (string, error) {
	k, err := s.keys.Current(ctx)
	if err != nil {
		return "", err
	}
	c.KeyID = k.ID
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signed := prefix + base64.RawURLEncoding.EncodeToString(body)
	sig, err := k.Sign([]byte(signed))
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// Result is a verification's outcome; Claims are set unless Forged.
type Result struct {
	Status Status
	Claims *Claims
}

// Message is the outcome in words for the scanner.
func (r *Result) Message() string {
	switch r.Status {
	case Valid:
		return "码有效。"
	case Expired:
		return "码已过期，请持码人刷新后重新出示。"
	}
	return "码无效：不是平台签发的码，或内容被改动。"
}

// Verify checks a payload: the platform's signature, then the expiry. A
// payload that is not one at all is BAD_USER_INPUT; anything that looks
// like one but does not verify is Forged.
func (s *Service) Verify(ctx context.Context, payload string) (*Result, error) {
	payload = strings.TrimSpace(payload)
	if payload == "" || utf8.RuneCountInString(payload) > MaxPayloadBytes || !utf8.ValidString(payload) {
		return nil, models.InvalidField("payload", fmt.Sprintf("请提供扫码得到的内容（不超过%d个字符）。", MaxPayloadBytes))
	}
	forged := &Result{Status: Forged}
	dot := strings.LastIndexByte(payload, '.')
	if !strings.HasPrefix(payload, prefix) || dot <= len(prefix) {
		return forged, nil
	}
	signed := payload[:dot]
	body, ok := gm.StrictBase64URL(signed[len(prefix):])
	if !ok {
		return forged, nil
	}
	sig, ok := gm.StrictBase64URL(payload[dot+1:])
	if !ok {
		return forged, nil
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || (c.Kind != Personal && c.Kind != Enterprise) || c.ExpiresAt <= c.IssuedAt {
		return forged, nil
	}
	ok, retired, err := s.keys.Verify(ctx, c.KeyID, []byte(signed), sig)
	if err != nil {
		return nil, err
	}
	if !ok {
		return forged, nil
	}
	// A code the platform signed under a key retired long ago is genuine
	// and long expired.
	if retired || s.now().Unix() >= c.ExpiresAt {
		return &Result{Status: Expired, Claims: &c}, nil
	}
	return &Result{Status: Valid, Claims: &c}, nil
}
