package app_test

import (
	"strings"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/permission"
)

// TestSeals (8.3.2 b): an agency's seal is made, used only under a grant in
// force, and every sealing verifies — genuine, which seal and agency, when,
// and whether the document changed; a forged signature and a changed
// document are told apart; a revoked seal seals nothing more.
func TestSeals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		national := b.adminTicketOf(t, 0, true)
		var ag models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "11%").Order("id").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		shanghai := b.regionalAdmin(t, "310000", permission.ManageSeals)
		var created struct {
			CreateSeal struct{ ID, PublicKeyHex, CertData string }
		}
		b.gql(t, national, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "行政审批专用章", forDocuments: true}) { id publicKeyHex certData } }`,
			map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &created)
		sealID := created.CreateSeal.ID
		if len(created.CreateSeal.PublicKeyHex) != 130 || !strings.Contains(created.CreateSeal.CertData, ag.Name) {
			t.Fatalf("seal: %+v", created)
		}
		// Another province neither makes nor sees Beijing's seals.
		expectCode(t, b.gql(t, shanghai, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "章"}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)}), models.ECodeNotFound)
		if r := b.gql(t, shanghai, `{ seals { id } }`, nil); strings.Contains(string(r.Raw), sealID) || len(r.Errors) > 0 {
			t.Fatalf("seals of another province: %s", r.Raw)
		}
		// No private key anywhere.
		var row models.Seal
		b.app.DB.Where("agency_id = ? AND name = ?", ag.ID, "行政审批专用章").Order("id DESC").Take(&row)
		if r := b.gql(t, national, `{ seals { id name publicKeyHex certData grants { id } } }`, nil); strings.Contains(string(r.Raw), row.PrivateKey) {
			t.Fatalf("a private key returned: %s", r.Raw)
		}

		doc := gm.SM3Hex([]byte("准予行政许可决定书 第2026-001号"))
		seal := `mutation($s: ID!, $d: String!) { sealDocument(input: {sealId: $s, sm3: $d}) { id sealName agencyName sm3 signedAt } }`
		user := b.adminTicketOf(t, 0, false)
		expectCode(t, b.gql(t, user, seal, map[string]any{"s": sealID, "d": doc}), models.ECodeForbidden)
		var newest models.Admin
		b.app.DB.Order("id DESC").Take(&newest) // the account adminTicketOf just made
		userID := gid("AdminAccount", newest.ID)
		grant := `mutation($s: ID!, $a: ID!, $u: Time!) { grantSeal(input: {sealId: $s, adminId: $a, validUntil: $u}) { id validUntil } }`
		expectCode(t, b.gql(t, national, grant, map[string]any{"s": sealID, "a": userID, "u": time.Now().Add(-time.Hour)}), models.ECodeBadUserInput)
		// Not to an administrator of another province.
		var other models.Admin
		b.app.DB.Order("id DESC").Where("region_code = ?", "310000").Take(&other)
		expectCode(t, b.gql(t, national, grant, map[string]any{"s": sealID, "a": gid("AdminAccount", other.ID), "u": time.Now().Add(time.Hour)}), models.ECodeBadUserInput)
		var g struct{ GrantSeal struct{ ID string } }
		b.gql(t, national, grant, map[string]any{"s": sealID, "a": userID, "u": time.Now().Add(time.Hour)}).decode(t, &g)
		var rec struct {
			SealDocument struct{ ID, SealName, AgencyName, Sm3 string }
		}
		b.gql(t, user, seal, map[string]any{"s": sealID, "d": doc}).decode(t, &rec)
		if rec.SealDocument.SealName != "行政审批专用章" || rec.SealDocument.AgencyName != ag.Name || rec.SealDocument.Sm3 != doc {
			t.Fatalf("sealed: %+v", rec)
		}
		expectCode(t, b.gql(t, user, seal, map[string]any{"s": sealID, "d": "not-a-digest"}), models.ECodeBadUserInput)

		verify := `query($r: ID!, $d: String!) { verifySeal(recordId: $r, sm3: $d) { genuine documentChanged valid sealName agencyName signedAt sealRevoked } }`
		type verdict struct {
			Genuine, DocumentChanged, Valid, SealRevoked bool
			SealName, AgencyName                         string
		}
		check := func(d string) verdict {
			var out struct{ VerifySeal verdict }
			b.gql(t, "", verify, map[string]any{"r": rec.SealDocument.ID, "d": d}).decode(t, &out)
			return out.VerifySeal
		}
		if v := check(doc); !v.Valid || !v.Genuine || v.DocumentChanged || v.AgencyName != ag.Name {
			t.Fatalf("verify: %+v", v)
		}
		// Another document: only that it does not match, nothing of the seal.
		if v := check(gm.SM3Hex([]byte("被改过的决定书"))); v.Valid || v.Genuine || !v.DocumentChanged || v.SealName != "" || v.AgencyName != "" {
			t.Fatalf("a changed document: %+v", v)
		}
		// A forged signature in the record is told apart.
		var sr models.SealRecord
		b.app.DB.Order("id DESC").Take(&sr)
		orig := sr.Signature
		forged := []byte(orig)
		if forged[20] == 'A' {
			forged[20] = 'B'
		} else {
			forged[20] = 'A'
		}
		b.app.DB.Model(&models.SealRecord{}).Where("id = ?", sr.ID).Update("signature", string(forged))
		if v := check(doc); v.Valid || v.Genuine {
			t.Fatalf("a forged signature: %+v", v)
		}
		b.app.DB.Model(&models.SealRecord{}).Where("id = ?", sr.ID).Update("signature", orig)
		// Certificate data rewritten in the database (another agency's name)
		// does not verify either.
		b.app.DB.Model(&models.Seal{}).Where("id = ?", sr.SealID).Update("cert_data", strings.Replace(row.CertData, ag.Name, "伪造的部门", 1))
		if v := check(doc); v.Valid || v.Genuine {
			t.Fatalf("rewritten certificate data: %+v", v)
		}
		b.app.DB.Model(&models.Seal{}).Where("id = ?", sr.SealID).Update("cert_data", row.CertData)
		expectCode(t, b.gql(t, "", verify, map[string]any{"r": "x", "d": doc}), models.ECodeBadUserInput)

		// A revoked grant seals nothing; a revoked seal neither, and what it
		// sealed still verifies.
		b.gql(t, national, `mutation($g: ID!) { revokeSealGrant(grantId: $g) { revokedAt } }`, map[string]any{"g": g.GrantSeal.ID}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, user, seal, map[string]any{"s": sealID, "d": doc}), models.ECodeForbidden)
		b.gql(t, national, grant, map[string]any{"s": sealID, "a": userID, "u": time.Now().Add(time.Hour)}).decode(t, &struct{}{})
		b.gql(t, national, `mutation($s: ID!) { revokeSeal(input: {sealId: $s}) { revokedAt } }`, map[string]any{"s": sealID}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, user, seal, map[string]any{"s": sealID, "d": doc}), models.ECodeConflict)
		expectCode(t, b.gql(t, national, `mutation($s: ID!) { revokeSeal(input: {sealId: $s}) { revokedAt } }`, map[string]any{"s": sealID}), models.ECodeConflict)
		if v := check(doc); !v.Valid || !v.SealRevoked {
			t.Fatalf("after the seal was revoked: %+v", v)
		}
	})
}
