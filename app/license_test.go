package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"govmobile/models"
	"govmobile/permission"
)

// TestLicenses (8.3.2 c): an agency issues a licence sealed with its seal;
// the holder sees it masked, downloads the sealed file and shows it by a
// signed code; third parties verify the file and the code — genuine,
// revoked, expired, or forged when altered.
func TestLicenses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ag models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "31%").Order("id").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		issuer := b.scopedAdmin(t, "", ag.ID, permission.IssueLicenses, permission.ManageSeals)
		other := b.scopedAdmin(t, "", ag.ID+1, permission.IssueLicenses)
		p := person(t)
		holder := b.register(t, p).Ticket
		issue := `mutation($in: IssueLicenseInput!) { issueLicense(input: $in) { id title number holderName status fields { name value } downloadUrl } }`
		in := map[string]any{"holderIdentity": p["idNumber"], "kind": "DRIVING_LICENSE", "title": "机动车驾驶证", "number": "310101198501010011",
			"expiresAt": time.Now().Add(365 * 24 * time.Hour), "fields": []map[string]any{{"name": "准驾车型", "value": "C1"}}}
		expectCode(t, b.gql(t, issuer, issue, map[string]any{"in": in}), models.ECodeConflict) // no seal yet
		b.gql(t, issuer, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "证照专用章", forDocuments: true}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &struct{}{})
		bad := map[string]any{}
		for k, v := range in {
			bad[k] = v
		}
		bad["holderIdentity"] = "110101199001011234"
		expectCode(t, b.gql(t, issuer, issue, map[string]any{"in": bad}), models.ECodeBadUserInput)
		var issued struct {
			IssueLicense struct{ ID, Number, HolderName, Status, DownloadURL string }
		}
		b.gql(t, issuer, issue, map[string]any{"in": in}).decode(t, &issued)
		lic := issued.IssueLicense
		if lic.Status != "VALID" || lic.HolderName != "张**" || strings.Contains(lic.Number, "198501010011") {
			t.Fatalf("issued: %+v", lic)
		}
		// The holder's wallet; the file only for the holder.
		var wallet struct {
			MyLicenses []struct {
				ID, Title, HolderName string
				Fields                []struct{ Name, Value string }
			}
		}
		b.gql(t, holder, `{ myLicenses { id title holderName fields { name value } } }`, nil).decode(t, &wallet)
		if len(wallet.MyLicenses) != 1 || wallet.MyLicenses[0].Fields[0].Value != "C1" {
			t.Fatalf("wallet: %+v", wallet)
		}
		stranger := b.register(t, person(t)).Ticket
		if res, _ := b.downloadPath(t, stranger, lic.DownloadURL); res.StatusCode != 404 {
			t.Fatalf("another user downloads the licence: %d", res.StatusCode)
		}
		res, file := b.downloadPath(t, holder, lic.DownloadURL)
		if res.StatusCode != 200 || !strings.Contains(string(file), `"signature"`) {
			t.Fatalf("file: %d %s", res.StatusCode, file)
		}
		verify := `query($f: String!) { verifyLicense(file: $f) { status message title holderName number issuer } }`
		type verdict struct{ Status, Message, Title, HolderName, Number, Issuer string }
		verifyFile := func(f string) verdict {
			var out struct{ VerifyLicense verdict }
			b.gql(t, "", verify, map[string]any{"f": f}).decode(t, &out)
			return out.VerifyLicense
		}
		if v := verifyFile(string(file)); v.Status != "VALID" || v.Issuer != ag.Name || v.HolderName != "张**" || v.Title != "机动车驾驶证" {
			t.Fatalf("verify the file: %+v", v)
		}
		altered := strings.Replace(string(file), `"C1"`, `"A1"`, 1)
		if v := verifyFile(altered); v.Status != "FORGED" || v.Title != "" {
			t.Fatalf("an altered file: %+v", v)
		}
		if v := verifyFile(`{"document": {"licenseId": 1}}`); v.Status != "FORGED" {
			t.Fatalf("a made-up file: %+v", v)
		}
		// The file's formatting does not matter; anything that could read
		// two ways does.
		var generic map[string]any
		json.Unmarshal(file, &generic)
		reformatted, _ := json.Marshal(generic) // other key order, no indentation
		if v := verifyFile(string(reformatted)); v.Status != "VALID" {
			t.Fatalf("a reformatted file: %+v", v)
		}
		var seal map[string]any
		json.Unmarshal(file, &struct{ Seal *map[string]any }{&seal})
		for name, f := range map[string]string{
			"trailing data":  string(file) + `{"document":{}}`,
			"duplicate key":  strings.Replace(string(file), `"document": {`, `"document": {"title":"假证"}, "document": {`, 1),
			"seal block":     strings.Replace(string(file), `"recordId": `, `"recordId": 9`, 1),
			"unknown fields": strings.Replace(string(file), `"document": {`, `"extra": 1, "document": {`, 1),
		} {
			if v := verifyFile(f); v.Status != "FORGED" {
				t.Errorf("%s: %+v", name, v)
			}
		}
		// The audit log keeps neither the holder's number nor the content.
		if logs := b.gql(t, b.adminTicketOf(t, 0, true), `{ auditLogs(operation: "issueLicense", first: 5) { edges { node { arguments } } } }`, nil); strings.Contains(string(logs.Raw), p["idNumber"].(string)) || strings.Contains(string(logs.Raw), "310101198501010011") {
			t.Fatalf("personal data in the audit log: %s", logs.Raw)
		}
		expectCode(t, b.gql(t, "", verify, map[string]any{"f": ""}), models.ECodeBadUserInput)

		// Showing by a signed code.
		var shown struct{ ShowLicense struct{ Payload string } }
		b.gql(t, holder, `mutation($id: ID!) { showLicense(licenseId: $id) { payload expiresAt } }`, map[string]any{"id": lic.ID}).decode(t, &shown)
		expectCode(t, b.gql(t, stranger, `mutation($id: ID!) { showLicense(licenseId: $id) { payload } }`, map[string]any{"id": lic.ID}), models.ECodeNotFound)
		verifyCode := `query($p: String!) { verifyLicenseCode(payload: $p) { status message holderName } }`
		code := func(pl string) verdict {
			var out struct{ VerifyLicenseCode verdict }
			b.gql(t, "", verifyCode, map[string]any{"p": pl}).decode(t, &out)
			return out.VerifyLicenseCode
		}
		if v := code(shown.ShowLicense.Payload); v.Status != "VALID" || v.HolderName != "张**" {
			t.Fatalf("shown code: %+v", v)
		}
		pl := shown.ShowLicense.Payload
		if v := code(pl[:len(pl)-3] + "AAA"); v.Status != "FORGED" {
			t.Fatalf("a forged code: %+v", v)
		}
		if v := code(pl[:len(pl)-10] + "\n" + pl[len(pl)-10:]); v.Status != "FORGED" {
			t.Fatalf("a respelled code: %+v", v)
		}

		// Expired, then revoked by its issuer only.
		var row models.License
		b.app.DB.Order("id DESC").Take(&row)
		b.app.DB.Model(&models.License{}).Where("id = ?", row.ID).Update("expires_at", time.Now().Add(-time.Hour))
		if v := verifyFile(string(file)); v.Status != "EXPIRED" {
			t.Fatalf("expired: %+v", v)
		}
		expectCode(t, b.gql(t, holder, `mutation($id: ID!) { showLicense(licenseId: $id) { payload } }`, map[string]any{"id": lic.ID}), models.ECodeConflict)
		b.app.DB.Model(&models.License{}).Where("id = ?", row.ID).Update("expires_at", time.Now().Add(time.Hour))
		revoke := `mutation($id: ID!) { revokeLicense(input: {licenseId: $id, reason: "信息有误"}) { status } }`
		expectCode(t, b.gql(t, other, revoke, map[string]any{"id": lic.ID}), models.ECodeNotFound)
		if r := b.gql(t, issuer, revoke, map[string]any{"id": lic.ID}); !strings.Contains(string(r.Raw), `"REVOKED"`) {
			t.Fatalf("revoke: %s", r.Raw)
		}
		if v := code(shown.ShowLicense.Payload); v.Status != "REVOKED" {
			t.Fatalf("a revoked licence's code: %+v", v)
		}
		if v := verifyFile(string(file)); v.Status != "REVOKED" {
			t.Fatalf("a revoked licence's file: %+v", v)
		}
		// The database holds no clear number.
		if strings.Contains(row.NumberEnc+row.DocumentEnc, "198501010011") {
			t.Fatal("a clear licence number stored")
		}
		var f map[string]json.RawMessage
		if json.Unmarshal(file, &f) != nil || f["seal"] == nil {
			t.Fatal("the file has no seal")
		}
	})
}
