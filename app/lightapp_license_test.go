package app_test

import (
	"context"
	"testing"
	"time"

	"govmobile/models"
	"govmobile/permission"
	"govmobile/sdk"
)

// TestAppReadsLicensesWithConsent (8.3.2 c with 9.2): an app that asks for
// "licenses" gets the holder's licences in force, with the sealed file the
// platform verifies, only after the holder authorized it; a revoked licence
// is no longer given.
func TestAppReadsLicensesWithConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ag models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "44%").Order("id").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		issuer := b.scopedAdmin(t, "", ag.ID, permission.IssueLicenses, permission.ManageSeals)
		b.gql(t, issuer, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "证照专用章", forDocuments: true}) { id } }`,
			map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &struct{}{})
		p := person(t)
		user := b.register(t, p).Ticket
		var issued struct{ IssueLicense struct{ ID string } }
		b.gql(t, issuer, `mutation($in: IssueLicenseInput!) { issueLicense(input: $in) { id } }`, map[string]any{"in": map[string]any{
			"holderIdentity": p["idNumber"], "kind": "DRIVING_LICENSE", "title": "机动车驾驶证", "number": "440101198501010011",
			"expiresAt": time.Now().Add(365 * 24 * time.Hour), "fields": []map[string]any{{"name": "准驾车型", "value": "C1"}}}}).decode(t, &issued)

		owner, reviewer := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
		code := "lic-" + b.name
		appID, key, dataKey := onlineIdentityApp(t, b, owner, reviewer, code, "name", "licenses")
		client := &sdk.Client{BaseURL: b.srv.URL, AppID: code, PrivateKey: key, PlatformKeys: platformKeys(t, b), DataKeys: map[int][]byte{1: dataKey}}
		var asked struct {
			AppAuthorizationRequest struct{ Fields []struct{ Key, Label string } }
		}
		b.gql(t, user, `query($id: ID!) { appAuthorizationRequest(appId: $id) { fields { key label } } }`, map[string]any{"id": appID}).decode(t, &asked)
		labels := map[string]string{}
		for _, f := range asked.AppAuthorizationRequest.Fields {
			labels[f.Key] = f.Label
		}
		if labels["licenses"] != "电子证照" {
			t.Fatalf("the consent prompt: %+v", asked)
		}
		_, r := b.appTicket(t, user, appID)
		if len(r.Errors) == 0 {
			t.Fatal("a ticket before the holder authorized the app")
		}
		b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt } }`, map[string]any{"id": appID}).decode(t, &struct{}{})
		ticket, _ := b.appTicket(t, user, appID)
		info, err := client.ExchangeInfo(context.Background(), ticket)
		if err != nil || len(info.Licenses) != 1 || info.Fields["name"] != p["realName"] {
			t.Fatalf("exchange: %+v %v", info, err)
		}
		lic := info.Licenses[0]
		if lic.Number != "440101198501010011" || lic.Title != "机动车驾驶证" || len(lic.Fields) != 1 || lic.File == "" {
			t.Fatalf("the licence given: %+v", lic)
		}
		var verdict struct{ VerifyLicense struct{ Status string } }
		b.gql(t, "", `query($f: String!) { verifyLicense(file: $f) { status } }`, map[string]any{"f": lic.File}).decode(t, &verdict)
		if verdict.VerifyLicense.Status != "VALID" {
			t.Fatalf("the app verifies the file: %+v", verdict)
		}

		b.gql(t, issuer, `mutation($in: RevokeLicenseInput!) { revokeLicense(input: $in) { status } }`,
			map[string]any{"in": map[string]any{"licenseId": issued.IssueLicense.ID, "reason": "证件已注销"}}).decode(t, &struct{}{})
		ticket, _ = b.appTicket(t, user, appID)
		if info, err = client.ExchangeInfo(context.Background(), ticket); err != nil || len(info.Licenses) != 0 {
			t.Fatalf("after revocation: %+v %v", info, err)
		}
	})
}
