package app_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"govmobile/identity"
	"govmobile/models"
)

func TestRegisterLoginMeLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		in["realName"] = "欧阳娜娜"
		reg := b.register(t, in)
		if reg.Ticket == "" || reg.ExpiresAt == "" {
			t.Fatalf("no ticket: %+v", reg)
		}
		u := reg.User
		if *u.RealName != "欧阳**" || *u.IDNumber != "3301*****" || *u.Phone != "1390*****" {
			t.Fatalf("personal data not masked as 9.4.5 says: %s %s %s", *u.RealName, *u.IDNumber, *u.Phone)
		}
		if u.CreditCode != nil || u.OrganizationName != nil {
			t.Fatalf("natural person has company fields: %+v", u)
		}

		// Log in again with the password, read me, log out.
		var login struct{ Login authPayload }
		b.gql(t, "", `mutation($in: LoginInput!) { login(input: $in) { ticket user { username } } }`,
			map[string]any{"in": map[string]any{"username": in["username"], "password": in["password"]}}).decode(t, &login)
		ticket := login.Login.Ticket
		if ticket == "" || ticket == reg.Ticket {
			t.Fatalf("login gave no fresh ticket")
		}
		var me struct {
			Me *struct {
				Username        string
				RealName        string
				IDNumber        string
				PrivacyConsents []struct{ PolicyVersion string }
			}
		}
		b.gql(t, ticket, `{ me { username realName idNumber privacyConsents { policyVersion } } }`, nil).decode(t, &me)
		if me.Me == nil || me.Me.Username != in["username"] || me.Me.RealName != "欧阳**" || me.Me.IDNumber != "3301*****" {
			t.Fatalf("me: %+v", me.Me)
		}
		if len(me.Me.PrivacyConsents) != 1 || me.Me.PrivacyConsents[0].PolicyVersion == "" {
			t.Fatalf("consent not recorded: %+v", me.Me.PrivacyConsents)
		}
		// Raw response never holds the clear values.
		raw := b.gql(t, ticket, `{ me { realName idNumber phone } }`, nil).Raw
		for _, clear := range []string{in["idNumber"].(string), in["phone"].(string), "欧阳娜娜"} {
			if bytes.Contains(raw, []byte(clear)) {
				t.Fatalf("response leaks %q: %s", clear, raw)
			}
		}

		var out struct{ Logout bool }
		b.gql(t, ticket, `mutation { logout }`, nil).decode(t, &out)
		if !out.Logout {
			t.Fatal("logout of a live ticket returned false")
		}
		expectCode(t, b.gql(t, ticket, `{ me { username } }`, nil), models.ECodeUnauthenticated)
		// The other ticket is still good; anonymous me is null.
		b.gql(t, reg.Ticket, `{ me { username } }`, nil).decode(t, &me)
		if me.Me == nil {
			t.Fatal("logout revoked another ticket")
		}
		b.gql(t, "", `{ me { username } }`, nil).decode(t, &me)
		if me.Me != nil {
			t.Fatal("anonymous me is not null")
		}
		b.gql(t, "", `mutation { logout }`, nil).decode(t, &out)
		if out.Logout {
			t.Fatal("anonymous logout returned true")
		}
	})
}

func TestRegisterLegalPerson(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		in["userType"] = "LEGAL_PERSON"
		cc := creditCode(t, seq.Add(1)+int64(os.Getpid()))
		in["creditCode"] = cc
		in["organizationName"] = "杭州示例科技有限公司"
		u := b.register(t, in).User
		if u.UserType != "LEGAL_PERSON" || u.CreditCode == nil || *u.CreditCode != cc[:4]+"*****" || *u.OrganizationName != "杭州示例科技有限公司" {
			t.Fatalf("legal person: %+v", u)
		}
		// The same credit code cannot register twice.
		again := person(t)
		again["userType"] = "LEGAL_PERSON"
		again["creditCode"] = cc
		again["organizationName"] = "另一家公司"
		expectCode(t, b.gql(t, "", registerMutation, map[string]any{"in": again}), models.ECodeConflict)
	})
}

// TestRegisterBadInput: each bad registration gets BAD_USER_INPUT (or
// CONFLICT) with a Chinese sentence, and writes nothing.
func TestRegisterBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		taken := person(t)
		b.register(t, taken)
		cases := []struct {
			name  string
			edit  func(m map[string]any)
			code  string
			field string
		}{
			{"no consent", func(m map[string]any) { m["privacyConsent"] = false }, models.ECodeBadUserInput, "privacyConsent"},
			{"old policy version", func(m map[string]any) { m["privacyPolicyVersion"] = "2000-01-01" }, models.ECodeBadUserInput, "privacyPolicyVersion"},
			{"bad check digit", func(m map[string]any) {
				id := m["idNumber"].(string)
				last := id[17]
				alt := byte('0')
				if last == '0' {
					alt = '1'
				}
				m["idNumber"] = id[:17] + string(alt)
			}, models.ECodeBadUserInput, "idNumber"},
			{"bad birth date", func(m map[string]any) { m["idNumber"] = idNumber(t, "330106", "19851332", 1) }, models.ECodeBadUserInput, "idNumber"},
			{"15 digit id", func(m map[string]any) { m["idNumber"] = "330106850307451" }, models.ECodeBadUserInput, "idNumber"},
			{"child under 14", func(m map[string]any) {
				m["idNumber"] = idNumber(t, "330106", time.Now().AddDate(-10, 0, 0).Format("20060102"), 7)
			}, models.ECodeBadUserInput, "idNumber"},
			{"birth date in the future", func(m map[string]any) {
				m["idNumber"] = idNumber(t, "330106", time.Now().AddDate(1, 0, 0).Format("20060102"), 7)
			}, models.ECodeBadUserInput, "idNumber"},
			{"bad phone", func(m map[string]any) { m["phone"] = "12345678901" }, models.ECodeBadUserInput, "phone"},
			{"short username", func(m map[string]any) { m["username"] = "ab" }, models.ECodeBadUserInput, "username"},
			{"overlong username", func(m map[string]any) { m["username"] = "a" + string(bytes.Repeat([]byte("b"), 5000)) }, models.ECodeBadUserInput, "username"},
			{"weak password", func(m map[string]any) { m["password"] = "password" }, models.ECodeBadUserInput, "password"},
			{"overlong name", func(m map[string]any) { m["realName"] = string(bytes.Repeat([]byte("张"), 100)) }, models.ECodeBadUserInput, "realName"},
			{"legal person without credit code", func(m map[string]any) { m["userType"] = "LEGAL_PERSON"; m["organizationName"] = "某公司" }, models.ECodeBadUserInput, "creditCode"},
			{"legal person bad credit code", func(m map[string]any) {
				m["userType"] = "LEGAL_PERSON"
				m["organizationName"] = "某公司"
				m["creditCode"] = "91330106MA00000000"
			}, models.ECodeBadUserInput, "creditCode"},
			{"natural person with credit code", func(m map[string]any) { m["creditCode"] = creditCode(t, 42) }, models.ECodeBadUserInput, "creditCode"},
			{"username taken", func(m map[string]any) { m["username"] = taken["username"] }, models.ECodeConflict, "username"},
			{"id number taken", func(m map[string]any) { m["idNumber"] = taken["idNumber"] }, models.ECodeConflict, "idNumber"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := countRows(t, b, &models.User{})
				in := person(t)
				c.edit(in)
				r := b.gql(t, "", registerMutation, map[string]any{"in": in})
				expectCode(t, r, c.code)
				if f, _ := r.Errors[0].Extensions["field"].(string); f != c.field {
					t.Errorf("field = %q, want %q", f, c.field)
				}
				if after := countRows(t, b, &models.User{}); after != before {
					t.Fatalf("a refused registration wrote a user (%d → %d)", before, after)
				}
			})
		}
		// Wrong types and unknown fields are refused by the schema.
		in := person(t)
		in["unknownField"] = 1
		expectCode(t, b.gql(t, "", registerMutation, map[string]any{"in": in}), models.ECodeBadUserInput)
		in = person(t)
		in["privacyConsent"] = "yes"
		expectCode(t, b.gql(t, "", registerMutation, map[string]any{"in": in}), models.ECodeBadUserInput)
		in = person(t)
		delete(in, "privacyConsent")
		expectCode(t, b.gql(t, "", registerMutation, map[string]any{"in": in}), models.ECodeBadUserInput)
	})
}

// countRows counts the rows of model's table, or those matching where (a
// condition and its arguments) when given.
func countRows(t *testing.T, b *backend, model any, where ...any) int64 {
	t.Helper()
	var n int64
	q := b.app.DB.Model(model)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

const loginMutation = `mutation($in: LoginInput!) { login(input: $in) { ticket } }`

func login(t *testing.T, b *backend, user, pw string) *gqlResponse {
	return b.gql(t, "", loginMutation, map[string]any{"in": map[string]any{"username": user, "password": pw}})
}

func TestLoginFailuresAndLockout(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		b.register(t, in)
		user := in["username"].(string)

		wrong := login(t, b, user, "Wrong-Passw0rd")
		unknown := login(t, b, "nobody_"+user, "Wrong-Passw0rd")
		for _, r := range []*gqlResponse{wrong, unknown} {
			if len(r.Errors) != 1 || r.Errors[0].Message != "用户名或密码不正确" || r.code() != models.ECodeUnauthenticated {
				t.Fatalf("want exactly 用户名或密码不正确 (10.3 f), got %s", r.Raw)
			}
		}
		// Four more failures (five in all) lock the account, even against the
		// right password.
		for i := 0; i < identity.MaxFailures-1; i++ {
			login(t, b, user, "Wrong-Passw0rd")
		}
		expectCode(t, login(t, b, user, in["password"].(string)), models.ECodeRateLimited)
		// Fifteen minutes later (moved back in the database) the lock is over:
		// the right password gets in, and counting starts afresh.
		if err := b.app.DB.Model(&models.LoginThrottle{}).Where("locked_until IS NOT NULL").
			Update("locked_until", time.Now().UTC().Add(-time.Minute)).Error; err != nil {
			t.Fatal(err)
		}
		var ok struct{ Login struct{ Ticket string } }
		login(t, b, user, in["password"].(string)).decode(t, &ok)
		for i := 0; i < identity.MaxFailures-1; i++ {
			if r := login(t, b, user, "Wrong-Passw0rd"); r.code() != models.ECodeUnauthenticated {
				t.Fatalf("after the lock ran out, failure %d answered %s", i+1, r.Raw)
			}
		}
		// Unknown usernames lock the same way, so a lock reveals nothing.
		for i := 0; i < identity.MaxFailures; i++ {
			login(t, b, "ghost_"+user, "x")
		}
		expectCode(t, login(t, b, "ghost_"+user, "x"), models.ECodeRateLimited)
	})
}

func TestLoginSuccessResetsFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		b.register(t, in)
		user, pw := in["username"].(string), in["password"].(string)
		for round := 0; round < 2; round++ {
			for i := 0; i < identity.MaxFailures-1; i++ {
				login(t, b, user, "Wrong-Passw0rd")
			}
			var out struct{ Login struct{ Ticket string } }
			login(t, b, user, pw).decode(t, &out)
		}
	})
}

// TestConcurrentAttemptsNeverExceedTheLimit: however many attempts arrive
// at once, at most MaxFailures passwords are checked before the lock, and
// then even the right password is refused.
func TestConcurrentAttemptsNeverExceedTheLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		b.register(t, in)
		user := in["username"].(string)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := login(t, b, user, "Wrong-Passw0rd")
				mu.Lock()
				codes[r.code()]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[models.ECodeUnauthenticated] > identity.MaxFailures || codes[models.ECodeRateLimited] < 30-identity.MaxFailures {
			t.Fatalf("30 concurrent wrong passwords: %v (at most %d may be checked)", codes, identity.MaxFailures)
		}
		expectCode(t, login(t, b, user, in["password"].(string)), models.ECodeRateLimited)
	})
}

func TestUsernamesAreCaseInsensitive(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		in["username"] = "Mixed" + in["username"].(string)
		reg := b.register(t, in)
		if reg.User.Username != strings.ToLower(in["username"].(string)) {
			t.Fatalf("username stored as %q", reg.User.Username)
		}
		again := person(t)
		again["username"] = strings.ToUpper(in["username"].(string))
		expectCode(t, b.gql(t, "", registerMutation, map[string]any{"in": again}), models.ECodeConflict)
		var out struct{ Login struct{ Ticket string } }
		login(t, b, strings.ToUpper(in["username"].(string)), in["password"].(string)).decode(t, &out)
		if out.Login.Ticket == "" {
			t.Fatal("login with another case failed")
		}
	})
}

// TestDatabaseFileHoldsNoClearPersonalData greps the data directory — the
// SQLite files and the search index — (9.4.5; SPEC §4, issue 9): identity
// numbers and phones appear nowhere in clear, not even where the citizen
// typed them into an application form or the search box.
func TestDatabaseFileHoldsNoClearPersonalData(t *testing.T) {
	b, err := newApp("sqlite", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.srv.Close()
	var m models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
		t.Fatal(err)
	}
	var ins []map[string]any
	for i := 0; i < 5; i++ {
		in := person(t)
		in["realName"] = fmt.Sprintf("测试%c", '甲'+rune(i))
		ticket := b.register(t, in).Ticket
		ins = append(ins, in)
		// The form's contact phone and a reason quoting the identity
		// number, a draft and a submission; searches for both.
		values := formValues("reason", "身份证号码"+in["idNumber"].(string), "contactPhone", in["phone"].(string), "delivery", "窗口领取")
		b.gql(t, ticket, `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": values}}).decode(t, &struct{}{})
		var sub struct {
			SubmitApplication struct {
				Case struct {
					Values []struct {
						Key    string
						Values []string
					}
				}
			}
		}
		b.gql(t, ticket, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { values { key values } } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": values}}).decode(t, &sub)
		shown := false
		for _, v := range sub.SubmitApplication.Case.Values {
			shown = shown || (v.Key == "contactPhone" && len(v.Values) == 1 && v.Values[0] == in["phone"])
		}
		if !shown {
			t.Fatalf("the applicant does not see their own form: %+v", sub)
		}
		for _, q := range []string{in["phone"].(string), in["idNumber"].(string)} {
			b.gql(t, ticket, `query($q: String!) { search(query: $q) { totalCount } }`, map[string]any{"q": q}).decode(t, &struct{}{})
		}
	}
	b.app.Close()
	var files []string
	_ = filepath.WalkDir(b.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Base(p) != "master.key" {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 2 {
		t.Fatal("no database or index files")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue // SQLite's shared-memory file goes with the last connection
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range ins {
			for _, k := range []string{"idNumber", "phone", "realName", "password"} {
				if bytes.Contains(data, []byte(in[k].(string))) {
					t.Fatalf("%s holds %s in clear", strings.TrimPrefix(f, b.dir), k)
				}
			}
		}
	}
}

func TestCleanupRemovesStaleRowsOnly(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		in := person(t)
		live := b.register(t, in)
		old := time.Now().UTC().Add(-30 * 24 * time.Hour)
		db := b.app.DB
		stale := []any{
			&models.Ticket{TokenHash: fmt.Sprintf("stale-%d", seq.Add(1)), UserID: 1, CreatedAt: old, ExpiresAt: old.Add(time.Hour)},
			&models.LoginThrottle{UsernameHash: fmt.Sprintf("stale-%d", seq.Add(1)), Failures: 2, UpdatedAt: old},
		}
		for _, row := range stale {
			if err := db.Create(row).Error; err != nil {
				t.Fatal(err)
			}
		}
		n, err := b.app.Identity.Cleanup(context.Background())
		if err != nil || n < 2 {
			t.Fatalf("cleanup removed %d rows: %v", n, err)
		}
		var me struct{ Me *struct{ Username string } }
		b.gql(t, live.Ticket, `{ me { username } }`, nil).decode(t, &me)
		if me.Me == nil {
			t.Fatal("cleanup removed a live ticket")
		}
	})
}

// TestCaseValuesOfEarlierReleasesResealed: a case written before release 6
// kept its form values in clear; the running server seals them, and they
// read the same after.
func TestCaseValuesOfEarlierReleasesResealed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		now := time.Now().UTC()
		old := &models.Case{Number: "LEGACY-" + b.name + fmt.Sprint(now.UnixNano()), UserID: 424242, MatterID: 1, AgencyID: 1, Status: "SUBMITTED",
			LegacyValues: map[string]any{"contactPhone": "13912340000"}, CreatedAt: now, UpdatedAt: now}
		if err := b.app.DB.Create(old).Error; err != nil {
			t.Fatal(err)
		}
		if n, err := b.app.Cases.SealLegacy(context.Background()); err != nil || n < 1 {
			t.Fatalf("sealed %d: %v", n, err)
		}
		var row models.Case
		if err := b.app.DB.Take(&row, old.ID).Error; err != nil {
			t.Fatal(err)
		}
		values, err := b.app.Cases.ValuesOf(&row)
		if row.ValuesEnc == "" || row.LegacyValues != nil || err != nil || values["contactPhone"] != "13912340000" {
			t.Fatalf("after resealing: enc %q, legacy %v, values %v, %v", row.ValuesEnc, row.LegacyValues, values, err)
		}
		if strings.Contains(row.ValuesEnc, "1391234") {
			t.Fatal("the sealed values hold the phone in clear")
		}
	})
}
