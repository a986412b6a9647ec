package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/appointment"
	"govmobile/graph"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/sdk"

	"github.com/vektah/gqlparser/v2/ast"
)

// The personal-data leak scan (issue 9; 9.4.5, SPEC §4 "Masking" and
// "Personal data at rest"). Citizens with known, distinctive names, identity
// numbers and phones — and a legal person with its credit code — leave their
// data everywhere it can flow; then every Query field of the schema (found by
// walking it, not listed by hand) is asked for every scalar it can reach, as
// callers who may not see those values in clear: another citizen, an
// anonymous caller, administrators of the victims' region and of another
// (holding every permission: no permission unmasks personal data — the
// schema has none, so every administrator is one "without the PII
// permission"), the platform's super administrator and the staff of an
// agency that handles none of the victims' cases. Every response (data,
// errors, extensions, base64 blobs decoded), every log line of the run, every
// table's rows and every file of the data directory are searched for the
// clear values; none may appear.
//
// Who may see a clear value: the victim (their own form, their own free
// text) and the staff of the agency handling their case (the application's
// form: "只有申请人本人和办理部门的工作人员可见"). Their responses are scanned
// too, and the victim's clear form values must be found there — the positive
// control without which the scan would prove nothing.

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimRight(s.buf.String(), "\n"), "\n")
}

// piiSecret is one clear value that must not leak.
type piiSecret struct{ owner, kind, value string }

// piiScan scans and counts.
type piiScan struct {
	b       *backend
	secrets []piiSecret
	mu      sync.Mutex
	leaks   []string
	// entitled are clear values seen by callers allowed to see them.
	entitled  []string
	responses int
	queries   int
}

var base64ish = regexp.MustCompile(`^[A-Za-z0-9+/_=-]{16,}$`)

// find lists the secrets in data: as bytes, in every JSON string (escapes
// undone), and inside any base64 segment of those strings.
func (s *piiScan) find(data []byte) []piiSecret {
	var texts [][]byte
	texts = append(texts, data)
	var v any
	if json.Unmarshal(data, &v) == nil {
		var walk func(any)
		walk = func(x any) {
			switch x := x.(type) {
			case map[string]any:
				for k, e := range x {
					texts = append(texts, []byte(k))
					walk(e)
				}
			case []any:
				for _, e := range x {
					walk(e)
				}
			case string:
				texts = append(texts, []byte(x))
				texts = append(texts, decodedParts(x)...)
			}
		}
		walk(v)
	}
	var out []piiSecret
	for _, sec := range s.secrets {
		for _, t := range texts {
			if bytes.Contains(t, []byte(sec.value)) {
				out = append(out, sec)
				break
			}
		}
	}
	return out
}

// decodedParts decodes the base64 segments of s (a JWS-like payload, a file,
// a global ID) so that a value hidden only by encoding is still found.
func decodedParts(s string) [][]byte {
	var out [][]byte
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == ' ' || r == '\n' }) {
		if !base64ish.MatchString(part) {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if d, err := enc.DecodeString(part); err == nil {
				out = append(out, d)
				break
			}
		}
	}
	return out
}

func (s *piiScan) record(entitled bool, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if entitled {
		s.entitled = append(s.entitled, fmt.Sprintf(format, args...))
	} else {
		s.leaks = append(s.leaks, fmt.Sprintf(format, args...))
	}
}

// scanBytes checks one place (a response, a payload, a file).
func (s *piiScan) scanBytes(caller string, entitled bool, place string, data []byte) {
	for _, sec := range s.find(data) {
		s.record(entitled, "%s's clear %s in %s (caller: %s): %s", sec.owner, sec.kind, place, caller, clipAround(data, sec.value))
	}
}

// clipAround shows a little context around the first occurrence of v.
func clipAround(data []byte, v string) string {
	i := bytes.Index(data, []byte(v))
	if i < 0 {
		return clip(data)
	}
	from, to := max(0, i-120), min(len(data), i+len(v)+120)
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(data[from:to]), "?")), " ")
}

// caller is someone sending requests.
type piiCaller struct {
	name     string
	ticket   string
	entitled bool
}

// send sends a GraphQL request as c, counts it and scans its response.
func (s *piiScan) send(t *testing.T, c piiCaller, place, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	r := s.b.gql(t, c.ticket, query, vars)
	s.mu.Lock()
	s.queries++
	s.responses++
	s.mu.Unlock()
	s.scanBytes(c.name, c.entitled, place, r.Raw)
	return r
}

// must fails on GraphQL errors.
func must(t *testing.T, r *gqlResponse, v any) {
	t.Helper()
	if v == nil {
		v = &struct{}{}
	}
	r.decode(t, v)
}

func TestNoPersonalDataLeaks(t *testing.T) {
	names := []string{"sqlite"}
	if os.Getenv("TEST_MYSQL_DSN") != "" {
		names = append(names, "mysql")
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) { piiLeakScan(t, name) })
	}
}

// piiVictim is a registered citizen (or legal person) whose data is watched.
type piiVictim struct {
	in     map[string]any
	ticket string
	label  string
}

func piiLeakScan(t *testing.T, name string) {
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The few packages that log through slog.Default are captured too.
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)
	b := isolatedBackend(t, name, "pii", func(c *app.Config) { c.Logger = logger })
	s := &piiScan{b: b}

	// The victims: unusual three-character names, numbers built for this run.
	pid := int64(os.Getpid())
	mk := func(label, realName string, birth string, n int) *piiVictim {
		in := person(t)
		in["realName"] = realName
		in["idNumber"] = idNumber(t, "330106", birth, n)
		in["phone"] = fmt.Sprintf("1367%07d", (seq.Add(1)*104729+pid)%10000000)
		return &piiVictim{in: in, label: label}
	}
	v1 := mk("victim 1", "龚嘉彧", "19790823", 317)
	v2 := mk("victim 2", "滕昱珩", "19830214", 529)
	v3 := mk("victim 3", "蔺霁川", "19910611", 743)
	legal := mk("legal person", "钮琮瑾", "19760430", 861)
	legal.in["userType"] = "LEGAL_PERSON"
	legal.in["creditCode"] = creditCode(t, seq.Add(1)*7+pid)
	legal.in["organizationName"] = "杭州翊朗泓远科技有限公司"
	victims := []*piiVictim{v1, v2, v3, legal}
	for _, v := range victims {
		for _, k := range []string{"realName", "idNumber", "phone", "creditCode"} {
			if x, ok := v.in[k].(string); ok && x != "" {
				s.secrets = append(s.secrets, piiSecret{owner: v.label, kind: k, value: x})
			}
		}
	}
	// The scanner catches a clear value and ignores a masked one.
	if got := s.find([]byte(`{"a":"` + v1.in["phone"].(string) + `"}`)); len(got) != 1 {
		t.Fatalf("the scanner misses a clear phone: %v", got)
	}
	if got := s.find([]byte(`{"a":"` + base64.RawURLEncoding.EncodeToString([]byte(`{"id":"`+v1.in["idNumber"].(string)+`"}`)) + `"}`)); len(got) != 1 {
		t.Fatalf("the scanner misses a base64-encoded identity number: %v", got)
	}
	id1 := v1.in["idNumber"].(string)
	if got := s.find([]byte(`{"a":"` + id1[:3] + "***********" + id1[14:] + `","b":"3301*****","c":"龚**"}`)); len(got) != 0 {
		t.Fatalf("the scanner flags masked forms: %v", got)
	}

	anon := piiCaller{name: "anonymous"}
	reg := func(v *piiVictim) {
		r := s.send(t, anon, "register", registerMutation, map[string]any{"in": v.in})
		var out struct{ Register authPayload }
		must(t, r, &out)
		v.ticket = out.Register.Ticket
	}
	for _, v := range victims {
		reg(v)
	}
	as := func(v *piiVictim) piiCaller { return piiCaller{name: v.label, ticket: v.ticket, entitled: true} }
	other := piiCaller{name: "another citizen", ticket: b.register(t, person(t)).Ticket}

	// Error paths: duplicates, failed logins with the numbers as usernames,
	// a document that does not parse around the numbers.
	for _, v := range victims {
		dup := person(t)
		dup["idNumber"] = v.in["idNumber"]
		s.send(t, anon, "register (duplicate identity number)", registerMutation, map[string]any{"in": dup})
		dup = person(t)
		dup["phone"] = v.in["phone"]
		dup["realName"] = v.in["realName"]
		s.send(t, anon, "register (duplicate phone)", registerMutation, map[string]any{"in": dup})
		for _, u := range []string{"idNumber", "phone", "creditCode", "realName"} {
			if x, ok := v.in[u].(string); ok {
				s.send(t, anon, "login (number as username)", loginMutation, map[string]any{"in": map[string]any{"username": x, "password": "Wrong-Passw0rd"}})
			}
		}
		s.send(t, anon, "login (identity number as password)", loginMutation, map[string]any{"in": map[string]any{"username": v.in["username"], "password": v.in["idNumber"]}})
	}
	dupCC := person(t)
	dupCC["userType"], dupCC["creditCode"], dupCC["organizationName"] = "LEGAL_PERSON", legal.in["creditCode"], "另一家公司"
	s.send(t, anon, "register (duplicate credit code)", registerMutation, map[string]any{"in": dupCC})
	// The sender's own input echoed back is not a leak (they typed it): the
	// victim sends these, and the logs must not keep them.
	s.send(t, as(v1), "a document that does not parse", `{ search(query: "`+id1+`") { totalCount } `, nil)
	s.send(t, as(v1), "a document that does not validate", `{ search(query: "`+v1.in["phone"].(string)+`", nosuch: "`+id1+`") { totalCount } }`, nil)
	s.send(t, as(v1), "a bad variable", `query($q: Int!) { hotSearches(first: $q) { term } }`, map[string]any{"q": id1})

	// Applications carrying the numbers in their forms; searches for them.
	var m models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&m).Error; err != nil {
		t.Fatal(err)
	}
	pool := map[string][]string{}
	addID := func(id string) {
		raw, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil {
			return
		}
		kind, _, ok := strings.Cut(string(raw), ":")
		if !ok || kind == "" {
			return
		}
		for _, x := range pool[kind] {
			if x == id {
				return
			}
		}
		pool[kind] = append(pool[kind], id)
	}
	submitWith := func(v *piiVictim, matter models.Matter) string {
		values := formValues("reason", "身份证号码"+v.in["idNumber"].(string)+"，联系人"+v.in["realName"].(string), "contactPhone", v.in["phone"].(string), "delivery", "窗口领取")
		var d struct {
			SaveApplicationDraft struct{ Case struct{ ID string } }
		}
		must(t, s.send(t, as(v), "saveApplicationDraft", `mutation($in: SaveApplicationDraftInput!) { saveApplicationDraft(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", matter.ID), "values": values}}), &d)
		var out struct {
			SubmitApplication struct{ Case struct{ ID string } }
		}
		must(t, s.send(t, as(v), "submitApplication", `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id values { key values } } } }`,
			map[string]any{"in": map[string]any{"caseId": d.SaveApplicationDraft.Case.ID}}), &out)
		addID(out.SubmitApplication.Case.ID)
		return out.SubmitApplication.Case.ID
	}
	for _, v := range victims {
		submitWith(v, m)
		for _, k := range []string{"phone", "idNumber", "creditCode"} {
			if x, ok := v.in[k].(string); ok {
				s.send(t, as(v), "search (own "+k+")", `query($q: String!) { search(query: $q) { totalCount } }`, map[string]any{"q": x})
				s.send(t, as(v), "ask (own "+k+")", `query($q: String!) { ask(question: $q) { __typename } }`, map[string]any{"q": "我的号码是" + x + "，怎么办理"})
			}
		}
	}
	case1 := submitWith(v1, m)
	handling := piiCaller{name: "staff of the handling agency", ticket: b.staffTicket(t, m.AgencyID), entitled: true}
	s.send(t, handling, "handleCase", `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { id values { key values } } } }`,
		map[string]any{"in": map[string]any{"caseId": case1, "action": "ACCEPT"}})

	// An appointment.
	matterID, hallID := hallOf(t, b, 0)
	day := bookableDay(2).Format(appointment.DateLayout)
	slots := b.slots(t, matterID, hallID, day)
	if len(slots) == 0 {
		t.Fatal("no appointment slots")
	}
	if a, r := b.book(t, v1.ticket, slots[0].ID, ""); a == nil {
		t.Fatalf("book: %s", r.Raw)
	} else {
		addID(a.ID)
		s.scanBytes(v1.label, true, "bookAppointment", r.Raw)
	}
	addID(gid("Matter", matterID))
	addID(gid("Hall", hallID))
	addID(gid("Matter", m.ID))
	addID(gid("Agency", m.AgencyID))

	// A consultation quoting the numbers; a chat with an agent.
	cons := s.send(t, as(v1), "submitConsultation", `mutation($in: SubmitConsultationInput!) { submitConsultation(input: $in) { consultation { id } } }`,
		map[string]any{"in": map[string]any{"consultation": map[string]any{"kind": "CONSULTATION", "title": "户籍证明怎么开",
			"content": "我是" + v1.in["realName"].(string) + "，身份证" + id1 + "，电话" + v1.in["phone"].(string) + "，请回电。", "matterId": gid("Matter", m.ID)}}})
	var consOut struct {
		SubmitConsultation struct{ Consultation struct{ ID string } }
	}
	must(t, cons, &consOut)
	addID(consOut.SubmitConsultation.Consultation.ID)
	var chat struct {
		StartAgentChat struct{ Chat struct{ ID string } }
	}
	must(t, s.send(t, as(v1), "startAgentChat", `mutation($in: StartAgentChatInput!) { startAgentChat(input: $in) { chat { id } } }`,
		map[string]any{"in": map[string]any{"text": "我叫" + v1.in["realName"].(string) + "，手机" + v1.in["phone"].(string) + "，证件号" + id1}}), &chat)
	addID(chat.StartAgentChat.Chat.ID)
	// The agent who takes the chat reads what the citizen wrote to them.
	agent := piiCaller{name: "customer service agent", ticket: b.regionalAdmin(t, "", permission.CustomerService), entitled: true}
	s.send(t, agent, "takeAgentChat", `mutation($in: AgentChatInput!) { takeAgentChat(input: $in) { chat { id status } } }`, map[string]any{"in": map[string]any{"chatId": chat.StartAgentChat.Chat.ID}})
	s.send(t, as(v1), "sendChatMessage", `mutation($in: SendChatMessageInput!) { sendChatMessage(input: $in) { message { id sender } } }`,
		map[string]any{"in": map[string]any{"chatId": chat.StartAgentChat.Chat.ID, "text": "再说一遍：" + v1.in["phone"].(string)}})

	// A finished case, rated with a comment quoting the phone; subscriptions.
	var rated models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(7).First(&rated).Error; err != nil {
		t.Fatal(err)
	}
	finished := finishedCase(t, b, v1.ticket, rated)
	addID(finished)
	if ev, r := b.evaluate(t, v1.ticket, finished, map[string]any{"level": "SATISFIED", "tags": []string{"办事快"},
		"comment": "很满意，有事请打" + v1.in["phone"].(string)}); ev == nil {
		t.Fatalf("evaluate: %s", r.Raw)
	} else {
		addID(ev.ID)
	}
	for _, target := range []string{case1, gid("Matter", m.ID)} {
		var sub struct {
			Subscribe struct{ Subscription struct{ ID string } }
		}
		must(t, s.send(t, as(v1), "subscribe", `mutation($in: SubscribeInput!) { subscribe(input: $in) { subscription { id } } }`,
			map[string]any{"in": map[string]any{"targetId": target}}), &sub)
		addID(sub.Subscribe.Subscription.ID)
	}

	// A parcel with the victim's address and phone.
	var mailed models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Where("id IN (?)", b.app.DB.Model(&models.MatterHall{}).Select("matter_id")).
		Order("id").Offset(3).First(&mailed).Error; err != nil {
		t.Fatal(err)
	}
	var mailHall uint64
	b.app.DB.Model(&models.MatterHall{}).Where("matter_id = ?", mailed.ID).Order("hall_id").Limit(1).Pluck("hall_id", &mailHall)
	caseMail := submitWith(v1, mailed)
	me := map[string]any{"name": v1.in["realName"], "phone": v1.in["phone"], "regionCode": "110105", "address": "朝阳区建国路88号院3号楼2单元501"}
	var sh struct {
		MailMaterials struct{ ID, WaybillNo string }
	}
	must(t, s.send(t, as(v1), "mailMaterials", `mutation($in: MailMaterialsInput!) { mailMaterials(input: $in) { id waybillNo sender { name phone address } } }`,
		map[string]any{"in": map[string]any{"caseId": caseMail, "sender": me, "hallId": gid("Hall", mailHall)}}), &sh)
	addID(sh.MailMaterials.ID)
	for range 2 {
		if _, err := b.carrier.Advance(context.Background(), sh.MailMaterials.WaybillNo); err != nil {
			t.Fatalf("advance: %v", err)
		}
	}

	// A payment order for the victim's accepted case.
	connectSandbox(t, b)
	var paid models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(11).First(&paid).Error; err != nil {
		t.Fatal(err)
	}
	collector := piiCaller{name: "collector of the handling agency", ticket: b.scopedAdmin(t, "", paid.AgencyID, permission.CollectPayments, permission.HandleCases), entitled: true}
	casePay := submitWith(v1, paid)
	s.send(t, collector, "handleCase", `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
		map[string]any{"in": map[string]any{"caseId": casePay, "action": "ACCEPT"}})
	var fee struct{ SaveFeeItem struct{ ID string } }
	must(t, s.send(t, collector, "saveFeeItem", `mutation($in: SaveFeeItemInput!) { saveFeeItem(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"matterId": gid("Matter", paid.ID), "code": "GB", "name": "工本费", "amountFen": 2000, "basis": "《居民身份证法》第二十条"}}), &fee)
	var order struct{ IssuePaymentOrder struct{ ID string } }
	must(t, s.send(t, collector, "issuePaymentOrder", `mutation($in: IssuePaymentOrderInput!) { issuePaymentOrder(input: $in) { id number } }`,
		map[string]any{"in": map[string]any{"caseId": casePay, "lines": []map[string]any{{"feeItemId": fee.SaveFeeItem.ID, "quantity": 1}}}}), &order)
	addID(order.IssuePaymentOrder.ID)
	s.send(t, as(v1), "payOrder", `mutation($o: ID!) { payOrder(orderId: $o) { payUrl order { status } } }`, map[string]any{"o": order.IssuePaymentOrder.ID})

	// A licence issued to the victim, numbered by the identity number (as a
	// driving licence is); its file and its code go to third parties.
	var ag models.Agency
	if err := b.app.DB.Where("region_code LIKE ?", "31%").Order("id").First(&ag).Error; err != nil {
		t.Fatal(err)
	}
	issuer := piiCaller{name: "licence issuer", ticket: b.scopedAdmin(t, "", ag.ID, permission.IssueLicenses, permission.ManageSeals)}
	s.send(t, issuer, "createSeal", `mutation($a: ID!) { createSeal(input: {agencyId: $a, name: "证照专用章", forDocuments: true}) { id } }`, map[string]any{"a": gid("Agency", ag.ID)})
	var lic struct {
		IssueLicense struct{ ID, DownloadURL string }
	}
	must(t, s.send(t, issuer, "issueLicense", `mutation($in: IssueLicenseInput!) { issueLicense(input: $in) { id title number holderName status fields { name value } downloadUrl } }`,
		map[string]any{"in": map[string]any{"holderIdentity": id1, "kind": "DRIVING_LICENSE", "title": "机动车驾驶证", "number": id1,
			"expiresAt": time.Now().Add(365 * 24 * time.Hour), "fields": []map[string]any{{"name": "准驾车型", "value": "C1"}}}}), &lic)
	addID(lic.IssueLicense.ID)
	// A licence for the legal person, by its credit code.
	s.send(t, issuer, "issueLicense (legal person)", `mutation($in: IssueLicenseInput!) { issueLicense(input: $in) { id number holderName } }`,
		map[string]any{"in": map[string]any{"holderIdentity": legal.in["creditCode"], "kind": "BUSINESS_LICENSE", "title": "营业执照", "number": legal.in["creditCode"],
			"expiresAt": time.Now().Add(365 * 24 * time.Hour)}})
	res, file := b.downloadPath(t, v1.ticket, lic.IssueLicense.DownloadURL)
	if res.StatusCode != 200 {
		t.Fatalf("licence file: %d", res.StatusCode)
	}
	// The file is the holder's own credential, downloadable by them alone:
	// it carries their name and number, as the paper licence does.
	s.scanBytes(v1.label+" (their own licence file)", true, "the licence file", file)
	var shown struct{ ShowLicense struct{ Payload string } }
	must(t, s.send(t, as(v1), "showLicense", `mutation($id: ID!) { showLicense(licenseId: $id) { payload expiresAt } }`, map[string]any{"id": lic.IssueLicense.ID}), &shown)
	s.scanBytes("third parties shown the licence code", false, "the licence code's payload", []byte(`"`+shown.ShowLicense.Payload+`"`))

	// Service codes: third parties scan them.
	var payloads []string
	for _, c := range []struct {
		v    *piiVictim
		kind string
	}{{v1, "PERSONAL"}, {legal, "ENTERPRISE"}, {legal, "PERSONAL"}} {
		code, r := b.serviceCode(t, c.v.ticket, c.kind)
		if code.Payload == "" {
			t.Fatalf("service code: %s", r.Raw)
		}
		s.scanBytes("third parties shown the service code", false, "the "+c.kind+" service code's payload", []byte(`"`+code.Payload+`"`))
		payloads = append(payloads, code.Payload)
	}

	// An app the victim authorizes to read their data.
	owner, reviewer := b.adminTicketOf(t, 0, true), b.adminTicketOf(t, 0, true)
	code := "pii-" + name
	appID, appKey, dataKey := onlineIdentityApp(t, b, owner, reviewer, code, "name", "idNumber", "phone")
	addID(appID)
	s.send(t, as(v1), "appAuthorizationRequest", `query($id: ID!) { appAuthorizationRequest(appId: $id) { authorized fields { key label } } }`, map[string]any{"id": appID})
	s.send(t, as(v1), "authorizeApp", `mutation($id: ID!) { authorizeApp(appId: $id) { grantedAt fields { key } } }`, map[string]any{"id": appID})
	appTk, r := b.appTicket(t, v1.ticket, appID)
	if appTk == "" {
		t.Fatalf("app ticket: %s", r.Raw)
	}
	client := &sdk.Client{BaseURL: b.srv.URL, AppID: code, PrivateKey: appKey, PlatformKeys: platformKeys(t, b), DataKeys: map[int][]byte{1: dataKey}}
	if info, err := client.Exchange(context.Background(), appTk); err != nil || info["idNumber"] != id1 {
		t.Fatalf("the authorized app does not get the clear values in its envelope: %v %v", info, err)
	}
	if _, err := client.Exchange(context.Background(), appTk); err == nil {
		t.Fatal("a used app ticket was honoured again")
	}

	// The callers of the sweep.
	callers := []piiCaller{
		as(v1),
		handling,
		other,
		anon,
		{name: "administrator of the victims' region (every permission)", ticket: b.regionalAdmin(t, "330100", piiAllPermissions()...)},
		{name: "administrator of another region (every permission)", ticket: b.regionalAdmin(t, "110000", piiAllPermissions()...)},
		{name: "super administrator", ticket: b.adminTicketOf(t, 0, true)},
		{name: "staff of another agency", ticket: b.staffTicket(t, m.AgencyID+1)},
		{name: "licence issuer", ticket: issuer.ticket},
		agent,
	}
	sw := &piiSweep{s: s, schema: graph.NewExecutableSchema(graph.Config{}).Schema(), pool: pool, addID: addID,
		day: day, payloads: append(payloads, shown.ShowLicense.Payload), files: []string{string(file)},
		full:     []string{v1.in["phone"].(string), id1, legal.in["creditCode"].(string)},
		partial:  []string{v1.in["phone"].(string)[:7], id1[:10], string([]rune(v1.in["realName"].(string))[:2]), legal.in["creditCode"].(string)[:8], "1367"},
		excluded: map[string]map[string]bool{}, answered: map[string]int{}}
	// The victim first: their answers name more of their objects.
	sw.run(t, callers[0])
	for _, c := range callers[1:] {
		sw.run(t, c)
	}

	// Logs of the whole run.
	lines := logs.lines()
	for i, line := range lines {
		for _, sec := range s.find([]byte(line)) {
			s.record(false, "%s's clear %s in log line %d: %s", sec.owner, sec.kind, i+1, clipAround([]byte(line), sec.value))
		}
	}
	// The tables, row by row, as text; then the files of the data directory.
	rows := s.scanTables(t)
	b.app.Close()
	files := s.scanDataDir(t, b.dir)

	controls := 0
	for _, e := range s.entitled {
		// Counted only in the sweep's own answers (Query.…), so that the
		// documents it builds are shown to reach the values.
		if strings.Contains(e, " in Query.") && strings.Contains(e, "caller: "+v1.label+")") {
			controls++
		}
	}
	t.Logf("personal-data scan on %s: %d query fields × %d callers, %d queries driven, %d responses scanned, %d log lines scanned, %d table rows and %d files scanned, %d clear values seen by entitled callers (%d the victim's own), %d leaks",
		name, len(sw.fields()), len(callers), s.queries, s.responses, len(lines), rows, files, len(s.entitled), controls, len(s.leaks))
	for _, c := range callers {
		t.Logf("  %s: %d documents answered without errors", c.name, sw.answered[c.name])
	}
	for _, e := range piiDistinct(s.entitled) {
		if !strings.Contains(e, "caller: "+v1.label+")") {
			t.Logf("entitled: %s", e)
		}
	}
	if controls == 0 {
		t.Error("positive control failed: the victim's own clear form values were never found in the sweep's answers to them, so the scan proves nothing")
	}
	for _, l := range piiDistinct(s.leaks) {
		t.Errorf("LEAK: %s", l)
	}
}

func piiDistinct(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func piiAllPermissions() []string {
	var all []string
	for _, p := range permission.All {
		all = append(all, p.Name)
	}
	return all
}

// scanTables reads every table's rows as text.
func (s *piiScan) scanTables(t *testing.T) int {
	tables, err := s.b.app.DB.Migrator().GetTables()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, table := range tables {
		rows, err := s.b.app.DB.Raw("SELECT * FROM " + s.b.app.DB.Statement.Quote(table)).Rows()
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]sql.RawBytes, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
			n++
			for i, v := range vals {
				for _, sec := range s.find(v) {
					if sec.kind == "realName" {
						continue // SPEC §4 seals numbers at rest; names are masked when shown
					}
					s.record(false, "%s's clear %s at rest in table %s, column %s: %s", sec.owner, sec.kind, table, cols[i], clipAround(v, sec.value))
				}
			}
		}
		rows.Close()
	}
	return n
}

// scanDataDir reads every file of the data directory (database, WAL, index,
// stored files) but the master key.
func (s *piiScan) scanDataDir(t *testing.T, dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Base(p) == "master.key" {
			return nil
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		for _, sec := range s.secrets {
			if sec.kind != "realName" && bytes.Contains(data, []byte(sec.value)) {
				s.record(false, "%s's clear %s at rest in %s", sec.owner, sec.kind, strings.TrimPrefix(p, dir))
			}
		}
		return nil
	})
	if n < 2 {
		t.Fatal("no database or index files")
	}
	return n
}

// piiSweep drives every Query field.
type piiSweep struct {
	s        *piiScan
	schema   *ast.Schema
	pool     map[string][]string
	addID    func(string)
	day      string
	payloads []string
	files    []string
	// full are the victim's own values (sent as the victim); partial are
	// parts of them (sent by everyone else, so that an answer quoting the
	// caller's own input is not taken for a leak).
	full, partial []string
	// excluded are response paths (per caller) whose field refused the
	// caller and would null out its parent: left out of the next try.
	mu       sync.Mutex
	excluded map[string]map[string]bool
	// answered counts, per caller, the documents answered without errors.
	answered map[string]int
}

func (w *piiSweep) fields() []*ast.FieldDefinition {
	var out []*ast.FieldDefinition
	for _, f := range w.schema.Query.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			out = append(out, f)
		}
	}
	return out
}

// run sends every Query field as c, with every argument variant.
func (w *piiSweep) run(t *testing.T, c piiCaller) {
	for _, f := range w.fields() {
		for _, vars := range w.argVariants(f, c) {
			w.drive(t, c, f, vars)
		}
	}
}

// drive sends one field with one set of arguments, retrying narrower when
// the document is too big or a nested field refuses the caller.
func (w *piiSweep) drive(t *testing.T, c piiCaller, f *ast.FieldDefinition, vars map[string]any) {
	depth, first := 4, 50
	if _, ok := vars["first"]; ok {
		vars["first"] = first
	}
	for try := 0; try < 8; try++ {
		doc := w.document(f, vars, depth, c.name)
		r := w.s.send(t, c, "Query."+f.Name, doc, vars)
		w.collectIDs(r)
		if len(r.Errors) == 0 {
			w.mu.Lock()
			w.answered[c.name]++
			w.mu.Unlock()
			return
		}
		retry := false
		for _, e := range r.Errors {
			reason, _ := e.Extensions["reason"].(string)
			switch reason {
			case "COMPLEXITY_LIMIT_EXCEEDED", "FIELD_LIMIT_EXCEEDED", "DEPTH_LIMIT_EXCEEDED":
				if _, ok := vars["first"]; ok && first > 5 {
					first = 5
					vars["first"] = first
				} else if depth > 1 {
					depth--
				}
				retry = true
			}
			if len(e.Path) > 1 {
				w.exclude(c.name, e.Path)
				retry = true
			}
		}
		if !retry {
			return
		}
	}
}

func (w *piiSweep) exclude(caller string, path []any) {
	var parts []string
	for _, p := range path {
		if s, ok := p.(string); ok {
			parts = append(parts, s)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.excluded[caller] == nil {
		w.excluded[caller] = map[string]bool{}
	}
	w.excluded[caller][strings.Join(parts, ".")] = true
}

// collectIDs adds every global ID of a response to the pool.
func (w *piiSweep) collectIDs(r *gqlResponse) {
	var v any
	if json.Unmarshal(r.Data, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "id" || strings.HasSuffix(k, "Id")) {
					w.addID(s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
}

// argVariants fills a field's arguments: required IDs from the pool, the
// rest with sensible values; a required string runs once per search text.
func (w *piiSweep) argVariants(f *ast.FieldDefinition, c piiCaller) []map[string]any {
	variants := []map[string]any{{}}
	texts := w.partial
	if c.entitled && c.ticket != "" && strings.HasPrefix(c.name, "victim") {
		texts = append(append([]string{}, w.full...), w.partial...)
	}
	for _, a := range f.Arguments {
		var options []any
		switch {
		case a.Name == "first":
			options = []any{50}
		case a.Type.NonNull && a.Type.Name() == "ID":
			options = w.ids(f, a)
		case a.Type.NonNull && w.schema.Types[a.Type.Name()] != nil && w.schema.Types[a.Type.Name()].Kind == ast.Enum:
			for _, ev := range w.schema.Types[a.Type.Name()].EnumValues {
				options = append(options, ev.Name)
			}
		case a.Type.NonNull && a.Type.Name() == "Time":
			if a.Name == "to" {
				options = []any{time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)}
			} else {
				options = []any{time.Now().Add(-30 * 24 * time.Hour).UTC().Format(time.RFC3339)}
			}
		case a.Type.NonNull && a.Type.Name() == "String":
			switch a.Name {
			case "date":
				options = []any{w.day}
			case "hall":
				options = []any{"NATIONAL"}
			case "code":
				options = []any{"330106"}
			case "payload":
				for _, p := range w.payloads {
					options = append(options, p)
				}
			case "file":
				for _, p := range w.files {
					options = append(options, p)
				}
			case "sm3":
				options = []any{strings.Repeat("0", 64)}
			default:
				for _, s := range texts {
					options = append(options, s)
				}
			}
		case a.Type.NonNull:
			options = []any{nil} // not expected: the query fails and is scanned anyway
		default:
			continue
		}
		var next []map[string]any
		for _, v := range variants {
			for _, o := range options {
				n := map[string]any{}
				for k, x := range v {
					n[k] = x
				}
				n[a.Name] = o
				next = append(next, n)
			}
		}
		variants = next
	}
	return variants
}

// ids chooses IDs of the argument's kind: by its name (caseId → Case), or
// for "id" by the field's type; node(id) gets every kind.
func (w *piiSweep) ids(f *ast.FieldDefinition, a *ast.ArgumentDefinition) []any {
	var out []any
	take := func(kind string) {
		for i, id := range w.pool[kind] {
			if i < 3 {
				out = append(out, id)
			}
		}
	}
	if f.Name == "node" {
		kinds := make([]string, 0, len(w.pool))
		for k := range w.pool {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			take(k)
		}
		return out
	}
	kind := f.Type.Name()
	if a.Name != "id" {
		kind = strings.TrimSuffix(a.Name, "Id")
		kind = strings.ToUpper(kind[:1]) + kind[1:]
	}
	take(kind)
	if len(out) == 0 {
		for k := range w.pool {
			if strings.Contains(kind, k) || strings.Contains(k, kind) {
				take(k)
			}
		}
	}
	if len(out) == 0 {
		out = append(out, gid(kind, 1))
	}
	return out
}

// document builds the query: every scalar and enum reachable within depth
// (connections' edges and nodes not counted), no type twice on one path.
func (w *piiSweep) document(f *ast.FieldDefinition, vars map[string]any, depth int, caller string) string {
	var decl, args []string
	for _, a := range f.Arguments {
		if _, ok := vars[a.Name]; ok {
			decl = append(decl, "$"+a.Name+": "+a.Type.String())
			args = append(args, a.Name+": $"+a.Name)
		}
	}
	w.mu.Lock()
	ex := w.excluded[caller]
	w.mu.Unlock()
	var sb strings.Builder
	sb.WriteString("query")
	if len(decl) > 0 {
		sb.WriteString("(" + strings.Join(decl, ", ") + ")")
	}
	sb.WriteString(" { " + f.Name)
	if len(args) > 0 {
		sb.WriteString("(" + strings.Join(args, ", ") + ")")
	}
	sb.WriteString(w.selection(f.Type.Name(), depth, map[string]bool{}, f.Name, ex))
	sb.WriteString(" }")
	return sb.String()
}

func (w *piiSweep) selection(typeName string, depth int, onPath map[string]bool, path string, ex map[string]bool) string {
	d := w.schema.Types[typeName]
	if d == nil || d.Kind == ast.Scalar || d.Kind == ast.Enum {
		return ""
	}
	if depth <= 0 || onPath[typeName] {
		return ""
	}
	onPath[typeName] = true
	defer delete(onPath, typeName)
	var parts []string
	switch d.Kind {
	case ast.Object:
		parts = w.objectFields(d, depth, onPath, path, ex)
	case ast.Interface, ast.Union:
		parts = append(parts, "__typename")
		for _, p := range w.schema.GetPossibleTypes(d) {
			if inner := w.objectFields(p, depth, onPath, path, ex); len(inner) > 0 {
				parts = append(parts, "... on "+p.Name+" { "+strings.Join(inner, " ")+" }")
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " { " + strings.Join(parts, " ") + " }"
}

func (w *piiSweep) objectFields(d *ast.Definition, depth int, onPath map[string]bool, path string, ex map[string]bool) []string {
	var parts []string
	for _, fd := range d.Fields {
		if strings.HasPrefix(fd.Name, "__") || ex[path+"."+fd.Name] {
			continue
		}
		required := false
		for _, a := range fd.Arguments {
			required = required || (a.Type.NonNull && a.DefaultValue == nil)
		}
		if required {
			continue
		}
		t := w.schema.Types[fd.Type.Name()]
		if t == nil || t.Kind == ast.Scalar || t.Kind == ast.Enum {
			parts = append(parts, fd.Name)
			continue
		}
		// Connections and edges are wrappers: they do not use up depth.
		next := depth - 1
		if strings.HasSuffix(d.Name, "Connection") || strings.HasSuffix(d.Name, "Edge") {
			next = depth
		}
		if sub := w.selection(t.Name, next, onPath, path+"."+fd.Name, ex); sub != "" {
			parts = append(parts, fd.Name+sub)
		}
	}
	return parts
}
