package analytics

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
)

// Metric is what a series counts (8.3.3 c).
type Metric string

// The metrics of the console's charts.
const (
	MetricActiveUsers    Metric = "ACTIVE_USERS"     // distinct signed-in users with any event
	MetricEvents         Metric = "EVENTS"           // events of Filter.Kind
	MetricSearches       Metric = "SEARCHES"         // searches, with or without results
	MetricSearchNoResult Metric = "SEARCH_NO_RESULT" // searches that found nothing
	MetricSubmissions    Metric = "SUBMISSIONS"      // cases submitted
	MetricAppOpens       Metric = "APP_OPENS"        // service applications opened
	MetricSatisfaction   Metric = "SATISFACTION"     // average evaluation score, 1 to 5 (0: no evaluation)
	MetricInterfaceCalls Metric = "INTERFACE_CALLS"  // source interfaces called
	MetricLogins         Metric = "LOGINS"           // logins
)

type metricSpec struct {
	label   string // the CSV column's heading
	kinds   []models.EventKind
	average bool // the mean of the events' values, not their number
}

var metrics = map[Metric]metricSpec{
	MetricActiveUsers:    {label: "活跃用户数"},
	MetricEvents:         {label: "事件数"},
	MetricSearches:       {label: "搜索次数", kinds: []models.EventKind{models.EventSearch, models.EventSearchNoResult}},
	MetricSearchNoResult: {label: "无结果搜索次数", kinds: []models.EventKind{models.EventSearchNoResult}},
	MetricSubmissions:    {label: "办件提交数", kinds: []models.EventKind{models.EventSubmitCase}},
	MetricAppOpens:       {label: "应用打开次数", kinds: []models.EventKind{models.EventAppOpen}},
	MetricSatisfaction:   {label: "平均满意度", kinds: []models.EventKind{models.EventEvaluate}, average: true},
	MetricInterfaceCalls: {label: "接口调用次数", kinds: []models.EventKind{models.EventInterfaceCall}},
	MetricLogins:         {label: "登录次数", kinds: []models.EventKind{models.EventLogin}},
}

// Granularity is the width of a series' buckets.
type Granularity string

// Hours are UTC hours (which are also China hours); days are China days,
// 00:00 to 24:00 UTC+8.
const (
	Hourly Granularity = models.GranularityHour
	Daily  Granularity = models.GranularityDay
)

// Range caps: a console query reads at most this many buckets.
const (
	MaxDays       = 366
	MaxHourlyDays = 31
	MaxTop        = 100
)

// Filter narrows a series or a top list. Zero fields do not narrow.
type Filter struct {
	// Kind is the event kind a MetricEvents series counts (required there,
	// refused elsewhere).
	Kind    models.EventKind
	Channel models.EventChannel
	// RegionPrefix keeps the events of regions whose code starts with it;
	// ACTIVE_USERS takes only a province, city or county prefix (2, 4 or 6
	// digits), the levels its distinct users are counted at.
	RegionPrefix string
	// SubjectKind and SubjectID keep the events about one matter, app or
	// interface (series only).
	SubjectKind models.SubjectKind
	SubjectID   uint64
}

// Point is one bucket of a series: its start (in China time) and value.
type Point struct {
	Start time.Time
	Value float64
}

// Series returns metric over [from, to) in buckets of g, every bucket
// present (zero where nothing happened). from is rounded down and to up to
// whole buckets; a series spans at most MaxDays days, or MaxHourlyDays by
// the hour.
func (s *Service) Series(ctx context.Context, metric Metric, g Granularity, from, to time.Time, f Filter) ([]Point, error) {
	spec, ok := metrics[metric]
	if !ok {
		return nil, models.InvalidField("metric", "统计指标未知。")
	}
	if err := f.checkSeries(metric); err != nil {
		return nil, err
	}
	start, step, n, err := buckets(g, from, to)
	if err != nil {
		return nil, err
	}
	end := start.Add(time.Duration(n) * step)
	points := make([]Point, n)
	for i := range points {
		points[i].Start = start.Add(time.Duration(i) * step).In(cst)
	}
	db := s.db.WithContext(ctx)
	if metric == MetricActiveUsers {
		var rows []models.EventActiveUsers
		err := db.Where("granularity = ? AND channel = ? AND region_prefix = ? AND bucket >= ? AND bucket < ?",
			string(g), string(f.Channel), f.RegionPrefix, start, end).Find(&rows).Error
		if err != nil {
			return nil, fmt.Errorf("analytics: read active users: %w", err)
		}
		for _, r := range rows {
			if i := int(r.Bucket.Sub(start) / step); i >= 0 && i < n {
				points[i].Value = float64(r.Users)
			}
		}
		return points, nil
	}
	kinds := spec.kinds
	if metric == MetricEvents {
		kinds = []models.EventKind{f.Kind}
	}
	var rows []struct {
		Hour                         time.Time
		Events, ValueSum, ValueCount int64
	}
	q := db.Model(&models.EventHour{}).
		Select("hour, SUM(events) AS events, SUM(value_sum) AS value_sum, SUM(value_count) AS value_count").
		Where("kind IN ? AND hour >= ? AND hour < ?", kinds, start, end)
	if err := f.narrow(q).Group("hour").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("analytics: read hours: %w", err)
	}
	sums := make([]struct{ events, valueSum, valueCount int64 }, n)
	for _, r := range rows {
		// Hours fall whole into days: China days begin on a UTC hour.
		if i := int(r.Hour.Sub(start) / step); i >= 0 && i < n {
			sums[i].events += r.Events
			sums[i].valueSum += r.ValueSum
			sums[i].valueCount += r.ValueCount
		}
	}
	for i, v := range sums {
		switch {
		case !spec.average:
			points[i].Value = float64(v.events)
		case v.valueCount > 0:
			points[i].Value = float64(v.valueSum) / float64(v.valueCount)
		}
	}
	return points, nil
}

// buckets aligns [from, to) to whole buckets of g and checks its span.
func buckets(g Granularity, from, to time.Time) (start time.Time, step time.Duration, n int, err error) {
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return start, 0, 0, models.InvalidField("from", "统计的开始时间应早于结束时间。")
	}
	var end time.Time
	switch g {
	case Hourly:
		step, start, end = time.Hour, from.UTC().Truncate(time.Hour), ceilHour(to)
		if end.Sub(start) > MaxHourlyDays*24*time.Hour {
			return start, 0, 0, models.InvalidField("to", "按小时统计的时间范围至多31天。")
		}
	case Daily:
		step, start, end = 24*time.Hour, dayStart(from), dayStart(to)
		if end.Before(to.UTC()) {
			end = end.Add(24 * time.Hour)
		}
		if end.Sub(start) > MaxDays*24*time.Hour {
			return start, 0, 0, models.InvalidField("to", "统计的时间范围至多366天。")
		}
	default:
		return start, 0, 0, models.InvalidField("granularity", "统计粒度应为 HOUR（按小时）或 DAY（按天）。")
	}
	return start, step, int(end.Sub(start) / step), nil
}

func ceilHour(t time.Time) time.Time {
	t = t.UTC()
	if h := t.Truncate(time.Hour); h.Before(t) {
		return h.Add(time.Hour)
	}
	return t
}

func (f Filter) checkCommon() error {
	if f.Channel != "" && !f.Channel.Valid() {
		return models.InvalidField("channel", "渠道未知。")
	}
	if len(f.RegionPrefix) > 12 || !digits(f.RegionPrefix) {
		return models.InvalidField("regionPrefix", "行政区划代码前缀应为至多12位数字。")
	}
	return nil
}

func (f Filter) checkSeries(m Metric) error {
	if err := f.checkCommon(); err != nil {
		return err
	}
	switch {
	case m == MetricEvents && !knownKind(f.Kind):
		return models.InvalidField("kind", "请指定一种已知的事件类型。")
	case m != MetricEvents && f.Kind != "":
		return models.InvalidField("kind", "只有事件数（EVENTS）指标按事件类型统计。")
	case f.SubjectKind == models.SubjectNone && f.SubjectID != 0,
		f.SubjectKind != models.SubjectNone && (f.SubjectID == 0 || !validSubjectKind(f.SubjectKind)):
		return models.InvalidField("subject", "统计对象应为一个事项、应用或接口。")
	}
	if m == MetricActiveUsers {
		if f.SubjectKind != models.SubjectNone {
			return models.InvalidField("subject", "活跃用户数不能按事项、应用或接口统计。")
		}
		switch len(f.RegionPrefix) {
		case 0, 2, 4, 6:
		default:
			return models.InvalidField("regionPrefix", "活跃用户数只能按省、市、县（2、4、6位）行政区划代码筛选。")
		}
	}
	return nil
}

func knownKind(k models.EventKind) bool { _, ok := kindRules[k]; return ok }

func validSubjectKind(k models.SubjectKind) bool {
	switch k {
	case models.SubjectMatter, models.SubjectApp, models.SubjectInterface:
		return true
	}
	return false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// narrow adds f's conditions to a query of EventHour.
func (f Filter) narrow(q *gorm.DB) *gorm.DB {
	if f.Channel != "" {
		q = q.Where("channel = ?", string(f.Channel))
	}
	if f.RegionPrefix != "" {
		// Digits only (checked): nothing to escape for LIKE.
		q = q.Where("region_code LIKE ?", f.RegionPrefix+"%")
	}
	if f.SubjectKind != models.SubjectNone {
		q = q.Where("subject_kind = ? AND subject_id = ?", string(f.SubjectKind), f.SubjectID)
	}
	return q
}

// List is a top list of the console.
type List string

// The top lists.
const (
	TopMatters     List = "TOP_MATTERS"      // matters by guide views
	TopApps        List = "TOP_APPS"         // apps by opens
	TopSearchTerms List = "TOP_SEARCH_TERMS" // search terms by searches
	NoResultTerms  List = "NO_RESULT_TERMS"  // search terms by searches that found nothing
)

type listSpec struct {
	label   string // the CSV column's heading for the row's subject or term
	kinds   []models.EventKind
	subject models.SubjectKind // ranks subjects of this kind; "" ranks terms
}

var lists = map[List]listSpec{
	TopMatters:     {label: "事项ID", kinds: []models.EventKind{models.EventMatterView}, subject: models.SubjectMatter},
	TopApps:        {label: "应用ID", kinds: []models.EventKind{models.EventAppOpen}, subject: models.SubjectApp},
	TopSearchTerms: {label: "搜索词", kinds: []models.EventKind{models.EventSearch, models.EventSearchNoResult}},
	NoResultTerms:  {label: "搜索词", kinds: []models.EventKind{models.EventSearchNoResult}},
}

// Row is one line of a top list: a subject or a term, and its count.
type Row struct {
	SubjectKind models.SubjectKind
	SubjectID   uint64
	Term        string
	Count       int64
}

// Top returns the n (1 to MaxTop) leading rows of list over [from, to)
// (whole hours, at most MaxDays days), most counted first; ties go to the
// smaller ID or the term first in the database's order. Only the channel
// and region of f narrow a top list.
func (s *Service) Top(ctx context.Context, list List, from, to time.Time, n int, f Filter) ([]Row, error) {
	spec, ok := lists[list]
	if !ok {
		return nil, models.InvalidField("list", "排行榜类型未知。")
	}
	if n < 1 || n > MaxTop {
		return nil, models.InvalidField("n", "排行条数应在1到100之间。")
	}
	if err := f.checkCommon(); err != nil {
		return nil, err
	}
	if f.Kind != "" || f.SubjectKind != models.SubjectNone || f.SubjectID != 0 {
		return nil, models.InvalidField("filter", "排行榜只能按渠道和行政区划筛选。")
	}
	if from.IsZero() || to.IsZero() || !from.Before(to) {
		return nil, models.InvalidField("from", "统计的开始时间应早于结束时间。")
	}
	start, end := from.UTC().Truncate(time.Hour), ceilHour(to)
	if end.Sub(start) > MaxDays*24*time.Hour {
		return nil, models.InvalidField("to", "统计的时间范围至多366天。")
	}
	q := f.narrow(s.db.WithContext(ctx).Model(&models.EventHour{}).Where("kind IN ? AND hour >= ? AND hour < ?", spec.kinds, start, end))
	var rows []struct {
		SubjectKind models.SubjectKind
		SubjectID   uint64
		Term        string
		Total       int64
	}
	if spec.subject != models.SubjectNone {
		q = q.Select("subject_kind, subject_id, SUM(events) AS total").Where("subject_kind = ?", string(spec.subject)).
			Group("subject_kind, subject_id").Order("total DESC, subject_id")
	} else {
		q = q.Select("term, SUM(events) AS total").Where("term <> ''").Group("term").Order("total DESC, term")
	}
	if err := q.Limit(n).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("analytics: read top list: %w", err)
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = Row{SubjectKind: r.SubjectKind, SubjectID: r.SubjectID, Term: r.Term, Count: r.Total}
	}
	return out, nil
}
