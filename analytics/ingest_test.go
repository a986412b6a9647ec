package analytics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"govmobile/models"
)

func TestSubmitValidatesEachEvent(t *testing.T) {
	now := time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC)
	ok := ClientEvent{Kind: "MATTER_VIEW", OccurredAt: now.Add(-time.Minute), SubjectKind: "MATTER", SubjectID: 7}
	with := func(f func(*ClientEvent)) ClientEvent { e := ok; f(&e); return e }
	cases := []struct {
		name string
		ev   ClientEvent
		code string // "" accepted
	}{
		{"matter view", ok, ""},
		{"page view with a name", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: "首页"}, ""},
		{"click with a term and an app", ClientEvent{Kind: "CLICK", OccurredAt: now, Term: "立即办理", SubjectKind: "APP", SubjectID: 3}, ""},
		{"share of an app", ClientEvent{Kind: "SHARE", OccurredAt: now, SubjectKind: "APP", SubjectID: 3}, ""},
		{"county region", with(func(e *ClientEvent) { e.RegionCode = "110101" }), ""},
		{"4:59 ahead", with(func(e *ClientEvent) { e.OccurredAt = now.Add(MaxFutureSkew - time.Second) }), ""},
		{"6 days 23 hours old", with(func(e *ClientEvent) { e.OccurredAt = now.Add(-MaxEventAge + time.Hour) }), ""},
		{"unknown kind", with(func(e *ClientEvent) { e.Kind = "PURCHASE" }), RejectUnknownKind},
		{"lower-case kind", with(func(e *ClientEvent) { e.Kind = "matter_view" }), RejectUnknownKind},
		{"server-only login", ClientEvent{Kind: "LOGIN", OccurredAt: now}, RejectServerOnly},
		{"server-only search", ClientEvent{Kind: "SEARCH", OccurredAt: now, Term: "社保"}, RejectServerOnly},
		{"server-only submission", ClientEvent{Kind: "SUBMIT_CASE", OccurredAt: now, SubjectKind: "MATTER", SubjectID: 1}, RejectServerOnly},
		{"no time", with(func(e *ClientEvent) { e.OccurredAt = time.Time{} }), RejectNoTime},
		{"6 minutes ahead", with(func(e *ClientEvent) { e.OccurredAt = now.Add(6 * time.Minute) }), RejectFuture},
		{"8 days old", with(func(e *ClientEvent) { e.OccurredAt = now.Add(-8 * 24 * time.Hour) }), RejectTooOld},
		{"65-character page name", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: strings.Repeat("页", 65)}, RejectTermTooLong},
		{"huge page name", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: strings.Repeat("a", 100000)}, RejectTermTooLong},
		{"page view without a name", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: "   "}, RejectBadTerm},
		{"control character", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: "首\x00页"}, RejectBadTerm},
		{"invalid UTF-8", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: "\xff\xfe"}, RejectBadTerm},
		{"term on a matter view", with(func(e *ClientEvent) { e.Term = "x" }), RejectBadTerm},
		{"matter view without a matter", with(func(e *ClientEvent) { e.SubjectKind, e.SubjectID = "", 0 }), RejectBadSubject},
		{"matter view of an app", with(func(e *ClientEvent) { e.SubjectKind = "APP" }), RejectBadSubject},
		{"matter 0", with(func(e *ClientEvent) { e.SubjectID = 0 }), RejectBadSubject},
		{"ID without a kind", ClientEvent{Kind: "PAGE_VIEW", OccurredAt: now, Term: "首页", SubjectID: 4}, RejectBadSubject},
		{"value on a view", with(func(e *ClientEvent) { e.Value = ptr(3) }), RejectBadValue},
		{"5-digit region", with(func(e *ClientEvent) { e.RegionCode = "11010" }), RejectBadRegion},
		{"letters in region", with(func(e *ClientEvent) { e.RegionCode = "11010a" }), RejectBadRegion},
	}
	r := NewRecorder(nil, RecorderConfig{Buffer: len(cases), Logger: quiet})
	r.now = func() time.Time { return now }
	batch := make([]ClientEvent, len(cases))
	for i, c := range cases {
		batch[i] = c.ev
	}
	before := testutil.ToFloat64(rejectedTotal.WithLabelValues(RejectServerOnly))
	rep, err := r.Submit(42, models.ChannelMiniProgram, batch)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]Rejection{}
	for _, rj := range rep.Rejected {
		got[rj.Index] = rj
	}
	accepted := 0
	for i, c := range cases {
		rj, rejected := got[i]
		switch {
		case c.code == "" && rejected:
			t.Errorf("%s: rejected %s (%s)", c.name, rj.Code, rj.Message)
		case c.code == "":
			accepted++
		case !rejected:
			t.Errorf("%s: accepted, want %s", c.name, c.code)
		case rj.Code != c.code:
			t.Errorf("%s: %s, want %s", c.name, rj.Code, c.code)
		case !strings.HasSuffix(rj.Message, "。"):
			t.Errorf("%s: message %q is not a Chinese sentence", c.name, rj.Message)
		}
	}
	if rep.Accepted != accepted || len(r.client) != accepted {
		t.Errorf("accepted %d, queued %d, want %d", rep.Accepted, len(r.client), accepted)
	}
	if d := testutil.ToFloat64(rejectedTotal.WithLabelValues(RejectServerOnly)) - before; d != 3 {
		t.Errorf("rejected{SERVER_ONLY_KIND} rose by %v, want 3", d)
	}
	for range accepted {
		it := <-r.client
		if it.ev.UserID != 42 || it.ev.Channel != models.ChannelMiniProgram || !it.checked {
			t.Errorf("queued %+v", it)
		}
	}
}

func TestSubmitRefusesWholeBatch(t *testing.T) {
	r := NewRecorder(nil, RecorderConfig{Logger: quiet})
	ev := ClientEvent{Kind: "PAGE_VIEW", OccurredAt: time.Now(), Term: "首页"}
	for _, c := range []struct {
		name    string
		channel models.EventChannel
		n       int
		field   string
	}{
		{"101 events", models.ChannelApp, MaxBatch + 1, "events"},
		{"server channel", models.ChannelServer, 1, "channel"},
		{"unknown channel", "WEB", 1, "channel"},
	} {
		batch := make([]ClientEvent, c.n)
		for i := range batch {
			batch[i] = ev
		}
		_, err := r.Submit(1, c.channel, batch)
		var e *models.Error
		if e, _ = err.(*models.Error); e == nil || e.Code != models.ECodeBadUserInput || e.Field != c.field {
			t.Errorf("%s: %v, want BAD_USER_INPUT on %s", c.name, err, c.field)
		}
	}
	if len(r.client) != 0 {
		t.Errorf("%d events queued from refused batches", len(r.client))
	}
	if rep, err := r.Submit(1, models.ChannelH5, make([]ClientEvent, MaxBatch)); err != nil || len(rep.Rejected) != MaxBatch {
		t.Errorf("100 empty events: %+v, %v", rep, err)
	}
}

func TestTermNormalisation(t *testing.T) {
	for in, want := range map[string]string{
		"  ＳＯＣＩＡＬ   Security ":      "social security",
		"社保\t查询":                    "社保 查询",
		"身份证 110101199003071234 补办": "身份证 [数字] 补办",
		"电话 139-0013-8000":          "电话 [数字]",
		"2024年 个税":                  "2024年 个税",
	} {
		got, code := normaliseTerm(in)
		if code != "" || got != want {
			t.Errorf("normaliseTerm(%q) = %q, %q; want %q", in, got, code, want)
		}
	}
}

// The server's own events are checked by the writer: kinds and fields, not
// the client's time window.
func TestServerEventRules(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ev   models.Event
		code string
	}{
		{models.Event{Kind: models.EventLogin, Channel: models.ChannelServer, OccurredAt: old}, ""},
		{models.Event{Kind: models.EventSearch, Channel: models.ChannelApp, OccurredAt: old, Term: "公积金"}, ""},
		{models.Event{Kind: models.EventEvaluate, Channel: models.ChannelServer, OccurredAt: old, Value: ptr(5)}, ""},
		{models.Event{Kind: models.EventEvaluate, Channel: models.ChannelServer, OccurredAt: old, Value: ptr(6)}, RejectBadValue},
		{models.Event{Kind: models.EventEvaluate, Channel: models.ChannelServer, OccurredAt: old}, RejectBadValue},
		{models.Event{Kind: models.EventInterfaceCall, Channel: models.ChannelServer, OccurredAt: old, SubjectKind: models.SubjectInterface, SubjectID: 2, Value: ptr(120)}, ""},
		{models.Event{Kind: models.EventAppOpen, Channel: models.ChannelServer, OccurredAt: old}, RejectBadSubject},
		{models.Event{Kind: models.EventLogin, Channel: "PC", OccurredAt: old}, RejectBadChannel},
		{models.Event{Kind: "LOGOUT", Channel: models.ChannelServer, OccurredAt: old}, RejectUnknownKind},
	} {
		ev := c.ev
		if got := check(&ev, false, time.Now()); got != c.code {
			t.Errorf("%s %+v: %q, want %q", c.ev.Kind, c.ev, got, c.code)
		}
	}
}
