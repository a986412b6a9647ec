package analytics

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"govmobile/models"
	"govmobile/search"
)

// Limits on what a client reports (8.3.1 c).
const (
	// MaxBatch is the most events one client batch may carry.
	MaxBatch = 100
	// MaxFutureSkew is how far ahead of the server's clock an event may be
	// stamped: phones' clocks drift, but not by hours.
	MaxFutureSkew = 5 * time.Minute
	// MaxEventAge is how old an event may be when it arrives: a frontend
	// that was offline sends what it kept, but not forever.
	MaxEventAge = 7 * 24 * time.Hour
	// MaxTermLength is the most characters of a term (after
	// normalisation); it keeps the rollup's key within MySQL's index limit.
	MaxTermLength = 64
)

// Rejection codes are stable: frontends branch on them, dashboards count
// them (govmobile_events_rejected_total{reason}).
const (
	RejectUnknownKind = "UNKNOWN_KIND"
	RejectServerOnly  = "SERVER_ONLY_KIND"
	RejectNoTime      = "MISSING_TIME"
	RejectFuture      = "IN_FUTURE"
	RejectTooOld      = "TOO_OLD"
	RejectTermTooLong = "TERM_TOO_LONG"
	RejectBadTerm     = "BAD_TERM"
	RejectBadSubject  = "BAD_SUBJECT"
	RejectBadValue    = "BAD_VALUE"
	RejectBadRegion   = "BAD_REGION"
	RejectBadChannel  = "BAD_CHANNEL"
)

// need says whether an event of a kind carries a field.
type need int

const (
	never need = iota
	optional
	required
)

// kindRule is what one kind carries and who may send it. This table is the
// one place the event vocabulary is defined.
type kindRule struct {
	client   bool // a frontend may report it; otherwise only the server records it
	subjects []models.SubjectKind
	subject  need
	term     need
	value    need
	min, max int64 // the value's range, when it has one
}

var kindRules = map[models.EventKind]kindRule{
	models.EventPageView:   {client: true, term: required},
	models.EventMatterView: {client: true, subject: required, subjects: []models.SubjectKind{models.SubjectMatter}},
	models.EventClick: {client: true, term: required, subject: optional,
		subjects: []models.SubjectKind{models.SubjectMatter, models.SubjectApp}},
	models.EventShare:          {client: true, subject: required, subjects: []models.SubjectKind{models.SubjectMatter, models.SubjectApp}},
	models.EventLogin:          {},
	models.EventSearch:         {term: required},
	models.EventSearchNoResult: {term: required},
	models.EventSubmitCase:     {subject: required, subjects: []models.SubjectKind{models.SubjectMatter}},
	models.EventEvaluate: {subject: optional, subjects: []models.SubjectKind{models.SubjectMatter, models.SubjectApp},
		value: required, min: 1, max: 5},
	models.EventAppOpen: {subject: required, subjects: []models.SubjectKind{models.SubjectApp}},
	models.EventInterfaceCall: {subject: required, subjects: []models.SubjectKind{models.SubjectInterface},
		value: optional, min: 0, max: 10 * 60 * 1000},
}

// ClientKind reports whether a frontend may report events of kind k.
func ClientKind(k models.EventKind) bool { return kindRules[k].client }

// ClientEvent is one event as a frontend reports it.
type ClientEvent struct {
	Kind        string
	OccurredAt  time.Time
	SubjectKind string
	SubjectID   uint64
	Term        string
	Value       *int64
	RegionCode  string
}

// Rejection says why the event at Index of a batch was refused.
type Rejection struct {
	Index   int
	Code    string
	Message string
}

// Report is the outcome of a client batch: the events accepted and, by
// index, those refused. An accepted event may still be shed under overload
// (govmobile_events_dropped_total); a frontend should not send it again.
type Report struct {
	Accepted int
	Rejected []Rejection
}

var rejectMessages = map[string]string{
	RejectUnknownKind: "事件类型未知。",
	RejectServerOnly:  "该类型的事件由服务器记录，客户端不能上报。",
	RejectNoTime:      "缺少事件发生时间。",
	RejectFuture:      "事件时间比当前时间晚5分钟以上，请校准设备时间。",
	RejectTooOld:      "事件发生在7天以前，不再接收。",
	RejectTermTooLong: "搜索词或页面名称至多64个字。",
	RejectBadTerm:     "搜索词或页面名称缺失、多余或含有无法识别的字符。",
	RejectBadSubject:  "事件对象（事项、应用或接口）缺失、多余或类型不符。",
	RejectBadValue:    "事件数值缺失、多余或超出范围。",
	RejectBadRegion:   "行政区划代码应为2、4、6、9或12位数字。",
	RejectBadChannel:  "事件渠道未知。",
}

// check validates ev and normalises its term in place; it returns a
// rejection code, or "". A client's event is also held to the time window
// and to the client kinds; the server's own events are not, since the
// server's clock is the reference.
func check(ev *models.Event, client bool, now time.Time) string {
	rule, ok := kindRules[ev.Kind]
	switch {
	case !ok:
		return RejectUnknownKind
	case client && !rule.client:
		return RejectServerOnly
	case !ev.Channel.Valid():
		return RejectBadChannel
	case ev.OccurredAt.IsZero():
		return RejectNoTime
	}
	if client {
		if ev.OccurredAt.After(now.Add(MaxFutureSkew)) {
			return RejectFuture
		}
		if ev.OccurredAt.Before(now.Add(-MaxEventAge)) {
			return RejectTooOld
		}
	}
	if code := checkSubject(ev, rule); code != "" {
		return code
	}
	if ev.Term != "" {
		t, code := normaliseTerm(ev.Term)
		if code != "" {
			return code
		}
		ev.Term = t
	}
	if ev.Term != "" && rule.term == never || ev.Term == "" && rule.term == required {
		return RejectBadTerm
	}
	switch {
	case ev.Value == nil && rule.value == required,
		ev.Value != nil && (rule.value == never || *ev.Value < rule.min || *ev.Value > rule.max):
		return RejectBadValue
	}
	if !validRegion(ev.RegionCode) {
		return RejectBadRegion
	}
	return ""
}

func checkSubject(ev *models.Event, rule kindRule) string {
	if ev.SubjectKind == models.SubjectNone {
		if ev.SubjectID != 0 || rule.subject == required {
			return RejectBadSubject
		}
		return ""
	}
	for _, k := range rule.subjects {
		if k == ev.SubjectKind {
			if ev.SubjectID == 0 {
				return RejectBadSubject
			}
			return ""
		}
	}
	return RejectBadSubject
}

// validRegion accepts "" (unknown) or a region code, or a prefix of one, of
// the lengths the national code has: province, city, county, township,
// village.
func validRegion(s string) bool {
	switch len(s) {
	case 0:
		return true
	case 2, 4, 6, 9, 12:
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return false
			}
		}
		return true
	}
	return false
}

// normaliseTerm gives a term the one form it is counted under: full-width
// letters and digits folded (NFKC), spaces collapsed, lower case, and digit
// runs that could be an identity or phone number masked, as the search log
// masks them.
func normaliseTerm(s string) (string, string) {
	if len(s) > 4*4*MaxTermLength { // refuse before doing work on a huge text
		return "", RejectTermTooLong
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) {
		return "", RejectBadTerm
	}
	s = strings.ToLower(strings.Join(strings.Fields(norm.NFKC.String(s)), " "))
	s = search.MaskDigits(s)
	if utf8.RuneCountInString(s) > MaxTermLength {
		return "", RejectTermTooLong
	}
	return s, ""
}

// Submit validates a frontend's batch of events from one channel and user
// (0: anonymous) and queues the valid ones; it never waits for the
// database. A batch larger than MaxBatch, or from a channel that is not a
// frontend's, is refused whole (BAD_USER_INPUT).
func (r *Recorder) Submit(userID uint64, channel models.EventChannel, batch []ClientEvent) (Report, error) {
	if channel == models.ChannelServer || !channel.Valid() {
		return Report{}, models.InvalidField("channel", "上报渠道应为 APP、MINI_PROGRAM、OFFICIAL_ACCOUNT 或 H5。")
	}
	if len(batch) > MaxBatch {
		return Report{}, models.InvalidField("events", "一次至多上报100条事件。")
	}
	now := r.now()
	rep := Report{}
	for i, in := range batch {
		ev := models.Event{Kind: models.EventKind(in.Kind), Channel: channel, UserID: userID, SubjectKind: models.SubjectKind(in.SubjectKind),
			SubjectID: in.SubjectID, Term: in.Term, Value: in.Value, RegionCode: in.RegionCode, OccurredAt: in.OccurredAt.UTC()}
		if code := check(&ev, true, now); code != "" {
			rejectedTotal.WithLabelValues(code).Inc()
			rep.Rejected = append(rep.Rejected, Rejection{Index: i, Code: code, Message: rejectMessages[code]})
			continue
		}
		rep.Accepted++
		r.enqueueClient(ev)
	}
	return rep, nil
}
