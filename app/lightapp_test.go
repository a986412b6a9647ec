package app_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"govmobile/gm"
	"govmobile/lightapp"
	"govmobile/models"
	"govmobile/sdk"
)

// onlineIdentityApp creates an identity-required app, puts it online with
// no bound interfaces, registers its key and fields, and issues its data
// key; it returns the app's ID, code, key and data key (version 1).
func onlineIdentityApp(t testing.TB, b *backend, owner, reviewer, code string, fields ...string) (string, *sm2.PrivateKey, []byte) {
	t.Helper()
	var created struct {
		CreateApp struct{ App struct{ ID string } }
	}
	b.gql(t, owner, `mutation($in: CreateAppInput!) { createApp(input: $in) { app { id } } }`, map[string]any{"in": map[string]any{"app": map[string]any{
		"code": code, "name": "轻应用" + code, "category": "测试", "kind": "IDENTITY", "url": "https://" + code + ".example.gov.cn/"}}}).decode(t, &created)
	id := created.CreateApp.App.ID
	for _, step := range []struct{ ticket, q string }{
		{owner, `mutation($id: ID!) { testApp(input: {appId: $id}) { passed } }`},
		{owner, `mutation($id: ID!) { submitApp(input: {appId: $id}) { app { status } } }`},
		{reviewer, `mutation($id: ID!) { reviewApp(input: {appId: $id, approve: true}) { app { status } } }`},
		{reviewer, `mutation($id: ID!) { publishApp(input: {appId: $id, halls: [{hall: "NATIONAL"}]}) { app { status } } }`},
	} {
		b.gql(t, step.ticket, step.q, map[string]any{"id": id}).decode(t, &struct{}{})
	}
	key, err := gm.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, _ := gm.SM2PublicKeyPEM(&key.PublicKey)
	b.gql(t, owner, `mutation($in: SetAppCredentialsInput!) { setAppCredentials(input: $in) { publicKeyHex } }`,
		map[string]any{"in": map[string]any{"appId": id, "publicKey": pemKey, "fields": fields}}).decode(t, &struct{}{})
	var dk struct {
		IssueAppDataKey struct {
			Version      int
			EncryptedKey string
		}
	}
	b.gql(t, owner, `mutation($id: ID!) { issueAppDataKey(input: {appId: $id}) { version encryptedKey } }`, map[string]any{"id": id}).decode(t, &dk)
	data, err := sdk.DecryptDataKey(key, dk.IssueAppDataKey.EncryptedKey)
	if err != nil || dk.IssueAppDataKey.Version != 1 {
		t.Fatalf("data key: %v %+v", err, dk)
	}
	return id, key, data
}

func platformKeys(t testing.TB, b *backend) map[string]*ecdsa.PublicKey {
	var keys struct {
		PlatformPublicKeys []struct{ KeyID, PublicKeyHex string }
	}
	b.gql(t, "", `{ platformPublicKeys { keyId publicKeyHex } }`, nil).decode(t, &keys)
	out := map[string]*ecdsa.PublicKey{}
	for _, k := range keys.PlatformPublicKeys {
		pub, err := sdk.ParsePublicKey(k.PublicKeyHex)
		if err != nil {
			t.Fatal(err)
		}
		out[k.KeyID] = pub
	}
	return out
}

func (b *backend) appTicket(t *testing.T, user, appID string) (string, *gqlResponse) {
	r := b.gql(t, user, `mutation($id: ID!) { appTicket(appId: $id) { ticket expiresAt } }`, map[string]any{"id": appID})
	var out struct{ AppTicket struct{ Ticket string } }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.AppTicket.Ticket, r
}

func refusal(err error) string {
	var e *sdk.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// TestLightAppLogin is 9.2 end to end over real HTTP: a user authorizes an
// app, its page gets a one-time ticket, its server exchanges the ticket in
// a request signed with its SM2 key and opens the SM4-GCM envelope with the
// SDK; every bad exchange is refused with its own code, and a ticket is
// never honoured twice.
func TestLightAppLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		owner, reviewer := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
		code := "la-" + b.name
		appID, key, dataKey := onlineIdentityApp(t, b, owner, reviewer, code, "name", "idNumber")
		p := person(t)
		user := b.register(t, p).Ticket
		client := &sdk.Client{BaseURL: b.srv.URL, AppID: code, PrivateKey: key, PlatformKeys: platformKeys(t, b), DataKeys: map[int][]byte{1: dataKey}}
		ctx := context.Background()

		// No ticket before the user authorizes the app.
		_, r := b.appTicket(t, user, appID)
		expectCode(t, r, lightapp.ErrConsentRequired.Code)
		req := b.gql(t, user, `query($id: ID!) { appAuthorizationRequest(appId: $id) { authorized fields { key label } } }`, map[string]any{"id": appID})
		if !bytes.Contains(req.Raw, []byte(`"authorized":false`)) || !bytes.Contains(req.Raw, []byte(`"label":"身份证号码"`)) {
			t.Fatalf("authorization request: %s", req.Raw)
		}
		expectCode(t, b.gql(t, "", `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt } }`, map[string]any{"id": appID}), models.ECodeUnauthenticated)
		b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt fields { key } } }`, map[string]any{"id": appID}).decode(t, &struct{}{})

		ticket, r := b.appTicket(t, user, appID)
		if ticket == "" {
			t.Fatalf("ticket: %s", r.Raw)
		}
		info, err := client.Exchange(ctx, ticket)
		if err != nil || info["name"] != p["realName"] || info["idNumber"] != p["idNumber"] || info["openId"] == "" || info["phone"] != "" {
			t.Fatalf("exchange: %v %v", info, err)
		}
		openID := info["openId"]
		// Never twice, not even at once.
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeTicketUsed {
			t.Fatalf("replayed ticket: %v", err)
		}
		ticket, _ = b.appTicket(t, user, appID)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := client.Exchange(ctx, ticket)
				mu.Lock()
				codes[refusal(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes["nil"] != 1 || codes[lightapp.CodeTicketUsed] != 9 {
			t.Fatalf("one ticket at once ten times: %v", codes)
		}

		// A recorded answer does not pass for another request's: it signs
		// its own request's nonce.
		ticket, _ = b.appTicket(t, user, appID)
		var recorded http.Header
		var recordedBody []byte
		recorder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if recorded == nil {
				req, _ := http.NewRequest(r.Method, b.srv.URL+r.URL.RequestURI(), r.Body)
				req.Header = r.Header.Clone()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				recordedBody, _ = io.ReadAll(res.Body)
				res.Body.Close()
				recorded = res.Header.Clone()
			}
			for k, v := range recorded {
				w.Header()[k] = v
			}
			w.Write(recordedBody)
		}))
		defer recorder.Close()
		replaying := *client
		replaying.BaseURL = recorder.URL
		if info, err := replaying.Exchange(ctx, ticket); err != nil || info["name"] != p["realName"] {
			t.Fatalf("through the recorder: %v %v", info, err)
		}
		if _, err := replaying.Exchange(ctx, "any-other-ticket-0000"); !errors.Is(err, sdk.ErrResponseSignature) {
			t.Fatalf("a replayed answer was taken: %v", err)
		}

		// Expired, forged and foreign tickets.
		ticket, _ = b.appTicket(t, user, appID)
		b.app.DB.Model(&models.AppTicket{}).Where("hash = ?", gm.SM3Hex([]byte(ticket))).Update("expires_at", time.Now().Add(-time.Second))
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeTicketExpired {
			t.Fatalf("expired: %v", err)
		}
		if _, err := client.Exchange(ctx, "forged-ticket-0123456789"); refusal(err) != lightapp.CodeTicketInvalid {
			t.Fatalf("forged: %v", err)
		}
		otherID, otherKey, otherData := onlineIdentityApp(t, b, owner, reviewer, "la2-"+b.name, "name")
		b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt } }`, map[string]any{"id": otherID}).decode(t, &struct{}{})
		foreign, _ := b.appTicket(t, user, otherID)
		if _, err := client.Exchange(ctx, foreign); refusal(err) != lightapp.CodeTicketForeign {
			t.Fatalf("foreign: %v", err)
		}
		other := &sdk.Client{BaseURL: b.srv.URL, AppID: "la2-" + b.name, PrivateKey: otherKey, PlatformKeys: client.PlatformKeys, DataKeys: map[int][]byte{1: otherData}}
		// Refused to another app, the ticket stays good for its own.
		if info, err := other.Exchange(ctx, foreign); err != nil || info["name"] != p["realName"] || info["openId"] == "" {
			t.Fatalf("own app: %v %v", info, err)
		} else if info["openId"] == openID {
			t.Fatalf("one user's openId is the same for two apps")
		}

		// Signed requests: changed body, stale time, reused nonce, another
		// app's key, an unknown app.
		raw := func(mutate func(*http.Request, []byte) []byte, appCode string, signer *sm2.PrivateKey) (int, lightapp.Response) {
			ticket, _ := b.appTicket(t, user, appID)
			body, _ := json.Marshal(map[string]string{"ticket": ticket})
			req, _ := http.NewRequest(http.MethodPost, b.srv.URL+lightapp.ExchangePath, bytes.NewReader(body))
			if err := sdk.Sign(req, body, appCode, signer, time.Now()); err != nil {
				t.Fatal(err)
			}
			if mutate != nil {
				body = mutate(req, body)
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out lightapp.Response
			json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out
		}
		for name, c := range map[string]struct {
			mutate func(*http.Request, []byte) []byte
			code   string
			signer *sm2.PrivateKey
			want   string
		}{
			"changed body": {func(_ *http.Request, b []byte) []byte { return append(b[:len(b)-1], ' ', '}') }, code, key, lightapp.CodeSignature},
			"stale": {func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Timestamp", fmt.Sprint(time.Now().Add(-10*time.Minute).UnixMilli()))
				return b
			}, code, key, lightapp.CodeTimestamp},
			"short nonce":     {func(r *http.Request, b []byte) []byte { r.Header.Set("X-Nonce", "abc"); return b }, code, key, lightapp.CodeNonce},
			"another key":     {nil, code, otherKey, lightapp.CodeSignature},
			"unknown app":     {nil, "no-such-app", key, lightapp.CodeUnknownApp},
			"missing headers": {func(r *http.Request, b []byte) []byte { r.Header.Del("X-Signature"); return b }, code, key, lightapp.CodeSignature},
		} {
			if status, out := raw(c.mutate, c.code, c.signer); out.Code != c.want || status < 400 || out.Message == "" {
				t.Errorf("%s: %d %+v", name, status, out)
			}
		}
		// The same signed request twice: the nonce is refused.
		ticket, _ = b.appTicket(t, user, appID)
		body, _ := json.Marshal(map[string]string{"ticket": ticket})
		req1, _ := http.NewRequest(http.MethodPost, b.srv.URL+lightapp.ExchangePath, bytes.NewReader(body))
		sdk.Sign(req1, body, code, key, time.Now())
		for i, want := range []string{"", lightapp.CodeNonceReused} {
			req, _ := http.NewRequest(http.MethodPost, b.srv.URL+lightapp.ExchangePath, bytes.NewReader(body))
			req.Header = req1.Header.Clone()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out lightapp.Response
			json.NewDecoder(res.Body).Decode(&out)
			res.Body.Close()
			if out.Code != want {
				t.Fatalf("request %d: %+v", i, out)
			}
		}

		// A revoked authorization: tickets already given are refused, and
		// no new one is given.
		ticket, _ = b.appTicket(t, user, appID)
		stale, _ := b.appTicket(t, user, appID)
		b.gql(t, user, `mutation($id: ID!) { revokeAppAuthorization(appId: $id) }`, map[string]any{"id": appID}).decode(t, &struct{}{})
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeTicketUsed && refusal(err) != lightapp.CodeRevoked {
			t.Fatalf("revoked: %v", err)
		}
		_, r = b.appTicket(t, user, appID)
		expectCode(t, r, lightapp.ErrConsentRequired.Code)
		expectCode(t, b.gql(t, user, `mutation($id: ID!) { revokeAppAuthorization(appId: $id) }`, map[string]any{"id": appID}), models.ECodeNotFound)
		if r := b.gql(t, user, `{ myAppAuthorizations { app { id } } }`, nil); bytes.Contains(r.Raw, []byte(appID)) || !bytes.Contains(r.Raw, []byte(otherID)) {
			t.Fatalf("my authorizations: %s", r.Raw)
		}

		// Authorizing again does not bring back a ticket of the revoked
		// consent; consent is to the fields the user was shown.
		expectCode(t, b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id, fields: ["name"]) { grantedAt } }`, map[string]any{"id": appID}), models.ECodeConflict)
		b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id, fields: ["name", "idNumber"]) { grantedAt } }`, map[string]any{"id": appID}).decode(t, &struct{}{})
		if _, err := client.Exchange(ctx, stale); refusal(err) != lightapp.CodeTicketUsed {
			t.Fatalf("a ticket of a revoked consent after authorizing again: %v", err)
		}
		// A wider set of fields needs the user's consent again.
		newKey, _ := gm.GenerateSM2Key()
		ticket, _ = b.appTicket(t, user, appID)
		b.gql(t, owner, `mutation($in: SetAppCredentialsInput!) { setAppCredentials(input: $in) { dataKeyVersion } }`,
			map[string]any{"in": map[string]any{"appId": appID, "publicKey": gm.SM2PublicKeyHex(&key.PublicKey), "fields": []string{"name", "idNumber", "phone"}}}).decode(t, &struct{}{})
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeConsentChanged {
			t.Fatalf("widened fields: %v", err)
		}
		// A new public key retires the data key given to the old one.
		b.gql(t, owner, `mutation($in: SetAppCredentialsInput!) { setAppCredentials(input: $in) { dataKeyVersion } }`,
			map[string]any{"in": map[string]any{"appId": appID, "publicKey": gm.SM2PublicKeyHex(&newKey.PublicKey), "fields": []string{"name", "idNumber"}}}).decode(t, &struct{}{})
		ticket, _ = b.appTicket(t, user, appID)
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeUnknownApp && refusal(err) != lightapp.CodeSignature {
			t.Fatalf("the old key after a new one: %v", err)
		}
		client.PrivateKey = newKey
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeNoDataKey {
			t.Fatalf("no data key for the new key: %v", err)
		}

		// An app taken offline exchanges nothing.
		b.gql(t, user, `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt } }`, map[string]any{"id": appID}).decode(t, &struct{}{})
		var dk struct {
			IssueAppDataKey struct {
				Version      int
				EncryptedKey string
			}
		}
		b.gql(t, owner, `mutation($id: ID!) { issueAppDataKey(input: {appId: $id}) { version encryptedKey } }`, map[string]any{"id": appID}).decode(t, &dk)
		newData, err := sdk.DecryptDataKey(newKey, dk.IssueAppDataKey.EncryptedKey)
		if err != nil || dk.IssueAppDataKey.Version != 2 {
			t.Fatalf("a new data key: %v %+v", err, dk)
		}
		client.DataKeys[2] = newData
		ticket, _ = b.appTicket(t, user, appID)
		if info, err := client.Exchange(ctx, ticket); err != nil || info["name"] != p["realName"] {
			t.Fatalf("with the new keys: %v %v", info, err)
		}
		ticket, _ = b.appTicket(t, user, appID)
		b.gql(t, reviewer, `mutation($id: ID!) { takeAppOffline(input: {appId: $id, reason: "整改"}) { app { status } } }`, map[string]any{"id": appID}).decode(t, &struct{}{})
		if _, err := client.Exchange(ctx, ticket); refusal(err) != lightapp.CodeAppOffline {
			t.Fatalf("offline app: %v", err)
		}
		_, r = b.appTicket(t, user, appID)
		expectCode(t, r, models.ECodeNotFound)
	})
}
