package app_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/httpapi"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/sdk"
)

// TestAppSeals (8.3.2 b): an app of the seal's region is granted a seal
// and seals documents from its server with a signed request; the sealing
// verifies; an app without the grant, a replayed request and a bad digest
// are refused with their own codes; every answer is the platform's.
func TestAppSeals(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var ag models.Agency
		if err := b.app.DB.Where("region_code LIKE ?", "44%").Order("id DESC").First(&ag).Error; err != nil {
			t.Fatal(err)
		}
		sealer := b.scopedAdmin(t, "", ag.ID, permission.ManageSeals)
		var created struct{ CreateSeal struct{ ID string } }
		b.gql(t, sealer, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "电子证明专用章"}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &created)
		sealID := created.CreateSeal.ID

		owner, reviewer := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
		code := "seal-" + b.name
		appID, key, _ := onlineIdentityApp(t, b, owner, reviewer, code, "name")
		grant := `mutation($in: GrantSealInput!) { grantSeal(input: $in) { granteeKind granteeId } }`
		in := map[string]any{"in": map[string]any{"sealId": sealID, "appId": appID, "validUntil": time.Now().Add(24 * time.Hour)}}
		expectCode(t, b.gql(t, sealer, grant, in), models.ECodeBadUserInput) // a nationwide app
		expectCode(t, b.gql(t, sealer, grant, map[string]any{"in": map[string]any{"sealId": sealID, "validUntil": time.Now().Add(time.Hour)}}), models.ECodeBadUserInput)
		id := mustKey(t, appID)
		if err := b.app.DB.Model(&models.App{}).Where("id = ?", id).Update("region_code", ag.RegionCode).Error; err != nil {
			t.Fatal(err)
		}
		var granted struct {
			GrantSeal struct{ GranteeKind, GranteeID string }
		}
		b.gql(t, sealer, grant, in).decode(t, &granted)
		if granted.GrantSeal.GranteeKind != "APP" || granted.GrantSeal.GranteeID != appID {
			t.Fatalf("grant: %+v", granted)
		}

		keys := platformKeys(t, b)
		call := func(body []byte, replay http.Header) (int, map[string]string, http.Header) {
			req, _ := http.NewRequest(http.MethodPost, b.srv.URL+httpapi.AppSealPath, bytes.NewReader(body))
			if replay != nil {
				req.Header = replay.Clone()
			} else if err := sdk.Sign(req, body, code, key, time.Now()); err != nil {
				t.Fatal(err)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if err := sdk.VerifyResponse(res.Header, httpapi.AppSealPath, raw, keys, time.Now()); err != nil || res.Header.Get("X-Nonce") != req.Header.Get("X-Nonce") {
				t.Fatalf("the answer is not the platform's: %v %s", err, raw)
			}
			var out map[string]string
			_ = json.Unmarshal(raw, &out)
			return res.StatusCode, out, req.Header
		}
		doc := gm.SM3Hex([]byte("关于同意设立登记的批复"))
		body, _ := json.Marshal(map[string]string{"sealId": sealID, "sm3": doc})
		st, out, sent := call(body, nil)
		if st != 200 || out["result"] != "true" || out["recordId"] == "" {
			t.Fatalf("app seal: %d %v", st, out)
		}
		var v struct {
			VerifySeal struct {
				Genuine, Valid, DocumentChanged bool
				SealName                        string
			}
		}
		b.gql(t, "", `query($r: ID!, $d: String!) { verifySeal(recordId: $r, sm3: $d) { genuine valid documentChanged sealName } }`,
			map[string]any{"r": out["recordId"], "d": doc}).decode(t, &v)
		if !v.VerifySeal.Genuine || !v.VerifySeal.Valid || v.VerifySeal.DocumentChanged || v.VerifySeal.SealName != "电子证明专用章" {
			t.Fatalf("verify: %+v", v)
		}
		if st, out, _ = call(body, sent); st != 401 || out["code"] != "NONCE_REUSED" {
			t.Fatalf("a replayed request: %d %v", st, out)
		}
		bad, _ := json.Marshal(map[string]string{"sealId": sealID, "sm3": "xyz"})
		if st, out, _ = call(bad, nil); st != 400 || out["code"] != "BAD_REQUEST" {
			t.Fatalf("a bad digest: %d %v", st, out)
		}
		var other struct{ CreateSeal struct{ ID string } }
		b.gql(t, sealer, `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "另一枚章"}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)}).decode(t, &other)
		ungranted, _ := json.Marshal(map[string]string{"sealId": other.CreateSeal.ID, "sm3": doc})
		if st, out, _ = call(ungranted, nil); st != 403 || out["code"] != "SEAL_NOT_GRANTED" {
			t.Fatalf("a seal not granted: %d %v", st, out)
		}
	})
}
