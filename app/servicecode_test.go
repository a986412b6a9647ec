package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"govmobile/models"
)

const codeQuery = `query($kind: ServiceCodeKind) { myServiceCode(kind: $kind) { kind payload expiresAt qrPng } }`
const verifyQuery = `query($p: String!) { verifyServiceCode(payload: $p) { status valid message kind holderName holderNumber holderType issuedAt expiresAt } }`

type codeOut struct {
	Kind, Payload, ExpiresAt, QrPng string
}

type verification struct {
	Status, Message                 string
	Valid                           bool
	Kind, HolderName, HolderNumber  *string
	HolderType, IssuedAt, ExpiresAt *string
}

func (b *backend) serviceCode(t *testing.T, ticket, kind string) (codeOut, *gqlResponse) {
	t.Helper()
	r := b.gql(t, ticket, codeQuery, map[string]any{"kind": kind})
	var out struct{ MyServiceCode codeOut }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.MyServiceCode, r
}

func (b *backend) verifyCode(t *testing.T, payload string) verification {
	t.Helper()
	var out struct{ VerifyServiceCode verification }
	b.gql(t, "", verifyQuery, map[string]any{"p": payload}).decode(t, &out)
	return out.VerifyServiceCode
}

// resign builds a payload with the claims changed by edit, signed with the
// platform's current key (for codes the API would not issue, such as
// expired ones).
func resign(t *testing.T, b *backend, payload string, edit func(map[string]any)) string {
	t.Helper()
	parts := strings.Split(payload, ".")
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	json.Unmarshal(body, &c)
	edit(c)
	body, _ = json.Marshal(c)
	signed := parts[0] + "." + base64.RawURLEncoding.EncodeToString(body)
	k, err := b.app.PlatformKeys.Current(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := k.Sign([]byte(signed))
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestServiceCodes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		in["realName"] = "王小明"
		ticket := b.register(t, in).Ticket
		c, r := b.serviceCode(t, ticket, "PERSONAL")
		if len(r.Errors) > 0 || c.Kind != "PERSONAL" || !strings.HasPrefix(c.Payload, "GMSC1.") {
			t.Fatalf("personal code: %s", r.Raw)
		}
		if png, _ := base64.StdEncoding.DecodeString(c.QrPng); len(png) < 100 || string(png[1:4]) != "PNG" {
			t.Fatal("the QR image is not a PNG")
		}
		if exp, err := time.Parse(time.RFC3339, c.ExpiresAt); err != nil || time.Until(exp) > 2*time.Minute || time.Until(exp) < time.Minute {
			t.Fatalf("expires at %s", c.ExpiresAt)
		}
		// The payload carries the holder masked, never in clear.
		if strings.Contains(c.Payload, "王小明") || strings.Contains(c.Payload, in["idNumber"].(string)) {
			t.Fatal("the payload holds personal data in clear")
		}
		body, _ := base64.RawURLEncoding.DecodeString(strings.Split(c.Payload, ".")[1])
		if strings.Contains(string(body), in["idNumber"].(string)) || strings.Contains(string(body), "王小明") {
			t.Fatalf("the claims hold personal data in clear: %s", body)
		}
		v := b.verifyCode(t, c.Payload)
		if v.Status != "VALID" || !v.Valid || *v.HolderName != "王**" || *v.HolderNumber != in["idNumber"].(string)[:4]+"*****" ||
			*v.HolderType != "NATURAL_PERSON" || *v.Kind != "PERSONAL" || v.Message == "" {
			t.Fatalf("verification: %+v", v)
		}
		// Every code is new.
		if again, _ := b.serviceCode(t, ticket, "PERSONAL"); again.Payload == c.Payload {
			t.Fatal("two codes are the same")
		}

		// Tampered, re-signed by someone else, truncated, garbage: FORGED.
		parts := strings.Split(c.Payload, ".")
		var claims map[string]any
		json.Unmarshal(body, &claims)
		claims["name"] = "李**"
		changed, _ := json.Marshal(claims)
		otherSig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		otherSig[len(otherSig)-1] ^= 1
		for name, p := range map[string]string{
			"changed claims":    parts[0] + "." + base64.RawURLEncoding.EncodeToString(changed) + "." + parts[2],
			"changed signature": parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(otherSig),
			"no signature":      parts[0] + "." + parts[1],
			"another format":    "GMSC2." + parts[1] + "." + parts[2],
			"garbage":           "这不是一个码",
			"unknown key":       resignWithKid(t, b, c.Payload, "ffffffffffff"),
			"line break in sig": parts[0] + "." + parts[1] + "." + parts[2][:10] + "\n" + parts[2][10:],
			"padded signature":  parts[0] + "." + parts[1] + "." + parts[2] + "==",
			"long Chinese text": strings.Repeat("码", 400),
		} {
			if v := b.verifyCode(t, p); v.Status != "FORGED" || v.Valid || v.HolderName != nil {
				t.Errorf("%s: %+v", name, v)
			}
		}
		// Signed by the platform but expired.
		expired := resign(t, b, c.Payload, func(c map[string]any) {
			c["iat"], c["exp"] = float64(time.Now().Add(-time.Hour).Unix()), float64(time.Now().Add(-58*time.Minute).Unix())
		})
		if v := b.verifyCode(t, expired); v.Status != "EXPIRED" || v.Valid || *v.HolderName != "王**" {
			t.Fatalf("expired: %+v", v)
		}
		for _, p := range []string{"", "   ", strings.Repeat("A", 1025)} {
			expectCode(t, b.gql(t, "", verifyQuery, map[string]any{"p": p}), models.ECodeBadUserInput)
		}

		// An enterprise code only for a legal person.
		_, r = b.serviceCode(t, ticket, "ENTERPRISE")
		expectCode(t, r, models.ECodeForbidden)
		_, r = b.serviceCode(t, "", "PERSONAL")
		expectCode(t, r, models.ECodeUnauthenticated)
		_, r = b.serviceCode(t, ticket, "FAMILY")
		expectCode(t, r, models.ECodeBadUserInput)
		co := person(t)
		co["userType"], co["organizationName"] = "LEGAL_PERSON", "杭州示例科技有限公司"
		cc := creditCode(t, seq.Add(1)+int64(os.Getpid()))
		co["creditCode"] = cc
		ec, r := b.serviceCode(t, b.register(t, co).Ticket, "ENTERPRISE")
		if len(r.Errors) > 0 {
			t.Fatal(string(r.Raw))
		}
		if v := b.verifyCode(t, ec.Payload); v.Status != "VALID" || *v.HolderName != "杭州示例科技有限公司" || *v.HolderNumber != cc[:4]+"*****" || *v.HolderType != "LEGAL_PERSON" {
			t.Fatalf("enterprise verification: %+v", v)
		}
	})
}

// resignWithKid is a payload naming a key the platform does not have.
func resignWithKid(t *testing.T, b *backend, payload, kid string) string {
	return resign(t, b, payload, func(c map[string]any) { c["kid"] = kid })
}

func TestPlatformKeyRotation(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ticket := b.register(t, person(t)).Ticket
		old, _ := b.serviceCode(t, ticket, "PERSONAL")
		keysQuery := `{ platformPublicKeys { keyId publicKeyHex publicKeyPem retiredAt } }`
		var before struct {
			PlatformPublicKeys []struct {
				KeyID, PublicKeyHex, PublicKeyPem string
				RetiredAt                         *string
			}
		}
		b.gql(t, "", keysQuery, nil).decode(t, &before)
		if len(before.PlatformPublicKeys) != 1 || len(before.PlatformPublicKeys[0].PublicKeyHex) != 130 ||
			!strings.Contains(before.PlatformPublicKeys[0].PublicKeyPem, "BEGIN PUBLIC KEY") {
			t.Fatalf("keys: %+v", before)
		}
		rotate := `mutation { rotatePlatformKey { keyId retiredAt } }`
		expectCode(t, b.gql(t, ticket, rotate, nil), models.ECodeUnauthenticated)
		expectCode(t, b.gql(t, b.staffTicket(t, 1), rotate, nil), models.ECodeForbidden)
		var rot struct{ RotatePlatformKey struct{ KeyID string } }
		b.gql(t, b.adminTicket(t), rotate, nil).decode(t, &rot)
		if rot.RotatePlatformKey.KeyID == "" || rot.RotatePlatformKey.KeyID == before.PlatformPublicKeys[0].KeyID {
			t.Fatalf("rotated: %+v", rot)
		}
		// A code signed just before the rotation stays valid; new codes use
		// the new key; both keys are published.
		if v := b.verifyCode(t, old.Payload); v.Status != "VALID" {
			t.Fatalf("a code from before the rotation: %+v", v)
		}
		fresh, _ := b.serviceCode(t, ticket, "PERSONAL")
		if !strings.Contains(mustDecodeClaims(t, fresh.Payload), rot.RotatePlatformKey.KeyID) || b.verifyCode(t, fresh.Payload).Status != "VALID" {
			t.Fatal("a code after the rotation is not signed with the new key")
		}
		b.gql(t, "", keysQuery, nil).decode(t, &before)
		if len(before.PlatformPublicKeys) != 2 || before.PlatformPublicKeys[1].RetiredAt == nil {
			t.Fatalf("keys after rotation: %+v", before.PlatformPublicKeys)
		}
		// Once the grace period is over, the old key signs nothing valid.
		if err := b.app.DB.Model(&models.PlatformKey{}).Where("retired_at IS NOT NULL").
			Update("retired_at", time.Now().UTC().Add(-time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
		if err := b.app.PlatformKeys.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		if v := b.verifyCode(t, old.Payload); v.Status != "EXPIRED" || v.Valid {
			t.Fatalf("a genuine code under a key retired an hour ago: %+v", v)
		}
	})
}

func mustDecodeClaims(t *testing.T, payload string) string {
	body, err := base64.RawURLEncoding.DecodeString(strings.Split(payload, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}
