package analytics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
)

func values(pts []Point) []float64 {
	out := make([]float64, len(pts))
	for i, p := range pts {
		out[i] = p.Value
	}
	return out
}

// Events either side of midnight China time (16:00 UTC) on 1–2 March 2026.
func seriesEvents() []models.Event {
	sub := func(user uint64, region string, t time.Time) models.Event {
		return models.Event{Kind: models.EventSubmitCase, UserID: user, SubjectKind: models.SubjectMatter, SubjectID: 1, RegionCode: region, OccurredAt: t}
	}
	return []models.Event{
		sub(1, "110101", at(15, 30)), // 23:30 on 1 March in China
		sub(2, "110101", at(16, 30)), // 00:30 on 2 March
		sub(3, "120101", at(16, 45)),
		{Kind: models.EventEvaluate, UserID: 2, Value: ptr(4), OccurredAt: at(17, 0)},
		{Kind: models.EventEvaluate, UserID: 3, Value: ptr(5), OccurredAt: at(17, 5)},
		{Kind: models.EventAppOpen, UserID: 2, Channel: models.ChannelApp, SubjectKind: models.SubjectApp, SubjectID: 5, OccurredAt: at(17, 10)},
		{Kind: models.EventAppOpen, UserID: 2, Channel: models.ChannelH5, SubjectKind: models.SubjectApp, SubjectID: 6, OccurredAt: at(17, 20)},
	}
}

func TestSeries(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db)
		ctx := context.Background()
		write(t, db, seriesEvents()...)
		if _, err := s.Rollup(ctx, at(23, 0)); err != nil {
			t.Fatal(err)
		}
		mar1 := time.Date(2026, 3, 1, 0, 0, 0, 0, cst)
		mar4 := time.Date(2026, 3, 4, 0, 0, 0, 0, cst)
		for _, c := range []struct {
			name     string
			metric   Metric
			g        Granularity
			from, to time.Time
			f        Filter
			want     []float64
		}{
			{"submissions by China day", MetricSubmissions, Daily, mar1, mar4, Filter{}, []float64{1, 2, 0}},
			{"from and to inside days are widened", MetricSubmissions, Daily, mar1.Add(5 * time.Hour), mar4.Add(-time.Hour), Filter{}, []float64{1, 2, 0}},
			{"submissions by hour", MetricSubmissions, Hourly, at(14, 0), at(18, 0), Filter{}, []float64{0, 1, 2, 0}},
			{"hours widened", MetricSubmissions, Hourly, at(15, 30), at(17, 1), Filter{}, []float64{1, 2, 0}},
			{"in Beijing", MetricSubmissions, Daily, mar1, mar4, Filter{RegionPrefix: "11"}, []float64{1, 1, 0}},
			{"in county 120101", MetricSubmissions, Daily, mar1, mar4, Filter{RegionPrefix: "120101"}, []float64{0, 1, 0}},
			{"of matter 1", MetricEvents, Daily, mar1, mar4, Filter{Kind: models.EventSubmitCase, SubjectKind: models.SubjectMatter, SubjectID: 1}, []float64{1, 2, 0}},
			{"of matter 2", MetricSubmissions, Daily, mar1, mar4, Filter{SubjectKind: models.SubjectMatter, SubjectID: 2}, []float64{0, 0, 0}},
			{"satisfaction", MetricSatisfaction, Daily, mar1, mar4, Filter{}, []float64{0, 4.5, 0}},
			{"app opens", MetricAppOpens, Daily, mar1, mar4, Filter{}, []float64{0, 2, 0}},
			{"app opens on H5", MetricAppOpens, Daily, mar1, mar4, Filter{Channel: models.ChannelH5}, []float64{0, 1, 0}},
			{"opens of app 5", MetricAppOpens, Daily, mar1, mar4, Filter{SubjectKind: models.SubjectApp, SubjectID: 5}, []float64{0, 1, 0}},
			{"active users by day", MetricActiveUsers, Daily, mar1, mar4, Filter{}, []float64{1, 2, 0}},
			{"active users by hour", MetricActiveUsers, Hourly, at(15, 0), at(18, 0), Filter{}, []float64{1, 2, 2}},
			{"active users in Tianjin", MetricActiveUsers, Daily, mar1, mar4, Filter{RegionPrefix: "12"}, []float64{0, 1, 0}},
			{"active users on H5", MetricActiveUsers, Daily, mar1, mar4, Filter{Channel: models.ChannelH5}, []float64{0, 1, 0}},
			{"no searches", MetricSearches, Daily, mar1, mar4, Filter{}, []float64{0, 0, 0}},
		} {
			pts, err := s.Series(ctx, c.metric, c.g, c.from, c.to, c.f)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			if fmt.Sprint(values(pts)) != fmt.Sprint(c.want) {
				t.Errorf("%s: %v, want %v", c.name, values(pts), c.want)
			}
		}
		pts, _ := s.Series(ctx, MetricSubmissions, Daily, mar1, mar4, Filter{})
		for i, want := range []string{"2026-03-01T00:00:00+08:00", "2026-03-02T00:00:00+08:00", "2026-03-03T00:00:00+08:00"} {
			if got := pts[i].Start.Format(time.RFC3339); got != want {
				t.Errorf("day %d starts %s, want %s", i, got, want)
			}
		}
	})
}

func TestSeriesRefusesBadQueries(t *testing.T) {
	s := newService(nil) // refused before any query
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, cst)
	for _, c := range []struct {
		name     string
		metric   Metric
		g        Granularity
		from, to time.Time
		f        Filter
		field    string
	}{
		{"unknown metric", "REVENUE", Daily, from, from.AddDate(0, 0, 1), Filter{}, "metric"},
		{"unknown granularity", MetricLogins, "WEEK", from, from.AddDate(0, 0, 1), Filter{}, "granularity"},
		{"empty range", MetricLogins, Daily, from, from, Filter{}, "from"},
		{"no from", MetricLogins, Daily, time.Time{}, from, Filter{}, "from"},
		{"367 days", MetricLogins, Daily, from, from.AddDate(0, 0, 367), Filter{}, "to"},
		{"32 days by the hour", MetricLogins, Hourly, from, from.AddDate(0, 0, 32), Filter{}, "to"},
		{"events of no kind", MetricEvents, Daily, from, from.AddDate(0, 0, 1), Filter{}, "kind"},
		{"kind on another metric", MetricLogins, Daily, from, from.AddDate(0, 0, 1), Filter{Kind: models.EventLogin}, "kind"},
		{"unknown channel", MetricLogins, Daily, from, from.AddDate(0, 0, 1), Filter{Channel: "PC"}, "channel"},
		{"letters in region", MetricLogins, Daily, from, from.AddDate(0, 0, 1), Filter{RegionPrefix: "11%"}, "regionPrefix"},
		{"active users by township", MetricActiveUsers, Daily, from, from.AddDate(0, 0, 1), Filter{RegionPrefix: "110101001"}, "regionPrefix"},
		{"active users of a matter", MetricActiveUsers, Daily, from, from.AddDate(0, 0, 1), Filter{SubjectKind: models.SubjectMatter, SubjectID: 1}, "subject"},
		{"subject without ID", MetricAppOpens, Daily, from, from.AddDate(0, 0, 1), Filter{SubjectKind: models.SubjectApp}, "subject"},
	} {
		_, err := s.Series(context.Background(), c.metric, c.g, c.from, c.to, c.f)
		if e, _ := err.(*models.Error); e == nil || e.Code != models.ECodeBadUserInput || e.Field != c.field {
			t.Errorf("%s: %v, want BAD_USER_INPUT on %s", c.name, err, c.field)
		}
	}
	// The longest ranges allowed are allowed.
	for _, c := range []struct {
		g    Granularity
		days int
	}{{Daily, MaxDays}, {Hourly, MaxHourlyDays}} {
		if _, _, n, err := buckets(c.g, from, from.AddDate(0, 0, c.days)); err != nil || n == 0 {
			t.Errorf("%s over %d days: %d buckets, %v", c.g, c.days, n, err)
		}
	}
}

func TestTop(t *testing.T) {
	eachDB(t, func(t *testing.T, db *gorm.DB) {
		s := newService(db)
		ctx := context.Background()
		var evs []models.Event
		add := func(n int, ev models.Event) {
			for i := range n {
				ev.UserID = uint64(i + 1)
				evs = append(evs, ev)
			}
		}
		view := func(matter uint64, region string) models.Event {
			return models.Event{Kind: models.EventMatterView, Channel: models.ChannelApp, SubjectKind: models.SubjectMatter, SubjectID: matter, RegionCode: region, OccurredAt: at(9, 0)}
		}
		add(3, view(10, "110101"))
		add(3, view(11, "120101"))
		add(1, view(12, "110101"))
		add(4, view(13, "110101"))
		view13 := view(13, "110101")
		view13.OccurredAt = at(10, 0) // another hour: counts add up
		add(1, view13)
		add(2, models.Event{Kind: models.EventSearch, Term: "社保", OccurredAt: at(9, 0)})
		add(3, models.Event{Kind: models.EventSearchNoResult, Term: "=cmd|' /c calc'!a0", OccurredAt: at(9, 0)})
		add(1, models.Event{Kind: models.EventSearchNoResult, Term: "公积金", OccurredAt: at(9, 0)})
		add(2, models.Event{Kind: models.EventAppOpen, SubjectKind: models.SubjectApp, SubjectID: 5, OccurredAt: at(9, 0)})
		write(t, db, evs...)
		if _, err := s.Rollup(ctx, at(12, 0)); err != nil {
			t.Fatal(err)
		}
		show := func(rows []Row) string {
			out := ""
			for _, r := range rows {
				if r.SubjectKind != "" {
					out += fmt.Sprintf("%s:%d=%d ", r.SubjectKind, r.SubjectID, r.Count)
				} else {
					out += fmt.Sprintf("%s=%d ", r.Term, r.Count)
				}
			}
			return out
		}
		for _, c := range []struct {
			name string
			list List
			n    int
			f    Filter
			want string
		}{
			{"matters, ties by ID", TopMatters, 3, Filter{}, "MATTER:13=5 MATTER:10=3 MATTER:11=3 "},
			{"matters in Beijing", TopMatters, 10, Filter{RegionPrefix: "11"}, "MATTER:13=5 MATTER:10=3 MATTER:12=1 "},
			{"matters on H5", TopMatters, 10, Filter{Channel: models.ChannelH5}, ""},
			{"apps", TopApps, 10, Filter{}, "APP:5=2 "},
			{"search terms", TopSearchTerms, 10, Filter{}, "=cmd|' /c calc'!a0=3 社保=2 公积金=1 "},
			{"no-result terms", NoResultTerms, 10, Filter{}, "=cmd|' /c calc'!a0=3 公积金=1 "},
		} {
			rows, err := s.Top(ctx, c.list, at(0, 0), at(12, 0), c.n, c.f)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if got := show(rows); got != c.want {
				t.Errorf("%s: %q, want %q", c.name, got, c.want)
			}
		}
		// Hour 10 alone.
		if rows, err := s.Top(ctx, TopMatters, at(10, 0), at(10, 1), 10, Filter{}); err != nil || show(rows) != "MATTER:13=1 " {
			t.Errorf("hour 10: %q, %v", show(rows), err)
		}
		for _, c := range []struct {
			name     string
			list     List
			n        int
			from, to time.Time
			f        Filter
		}{
			{"n 0", TopMatters, 0, at(0, 0), at(1, 0), Filter{}},
			{"n 101", TopMatters, 101, at(0, 0), at(1, 0), Filter{}},
			{"unknown list", "TOP_AGENCIES", 10, at(0, 0), at(1, 0), Filter{}},
			{"367 days", TopMatters, 10, at(0, 0), at(0, 0).AddDate(0, 0, 367), Filter{}},
			{"backwards", TopMatters, 10, at(1, 0), at(0, 0), Filter{}},
			{"by kind", TopMatters, 10, at(0, 0), at(1, 0), Filter{Kind: models.EventLogin}},
		} {
			_, err := s.Top(ctx, c.list, c.from, c.to, c.n, c.f)
			if e, _ := err.(*models.Error); e == nil || e.Code != models.ECodeBadUserInput {
				t.Errorf("%s: %v, want BAD_USER_INPUT", c.name, err)
			}
		}
	})
}
