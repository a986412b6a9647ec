package analytics

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"govmobile/models"
)

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte(utf8BOM)) {
		t.Fatalf("no UTF-8 BOM: %q", b)
	}
	recs, err := csv.NewReader(bytes.NewReader(b[len(utf8BOM):])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestTopCSVDefusesFormulas(t *testing.T) {
	rows := []Row{
		{Term: `=HYPERLINK("http://x","点我")`, Count: 9},
		{Term: "+86 社保", Count: 8},
		{Term: "-1+1", Count: 7},
		{Term: "@SUM(A1)", Count: 6},
		{Term: "\t=1", Count: 5},
		{Term: "社保, 医保", Count: 4},
		{Term: "a=b", Count: 3},
	}
	var buf bytes.Buffer
	if err := WriteTopCSV(&buf, TopSearchTerms, rows); err != nil {
		t.Fatal(err)
	}
	got := readCSV(t, buf.Bytes())
	want := [][]string{
		{"排名", "搜索词", "次数"},
		{"1", `'=HYPERLINK("http://x","点我")`, "9"},
		{"2", "'+86 社保", "8"},
		{"3", "'-1+1", "7"},
		{"4", "'@SUM(A1)", "6"},
		{"5", "'\t=1", "5"},
		{"6", "社保, 医保", "4"},
		{"7", "a=b", "3"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("record %d: %q, want %q", i, got[i], want[i])
		}
	}
	buf.Reset()
	if err := WriteTopCSV(&buf, TopMatters, []Row{{SubjectKind: models.SubjectMatter, SubjectID: 42, Count: 3}}); err != nil {
		t.Fatal(err)
	}
	if got := readCSV(t, buf.Bytes()); len(got) != 2 || got[0][1] != "事项ID" || got[1][1] != "42" {
		t.Errorf("matters: %q", got)
	}
}

func TestSeriesCSV(t *testing.T) {
	d := time.Date(2026, 3, 2, 0, 0, 0, 0, cst)
	for _, c := range []struct {
		metric Metric
		g      Granularity
		points []Point
		want   string
	}{
		{MetricSubmissions, Daily, []Point{{d, 3}, {d.AddDate(0, 0, 1), 0}}, "时段,办件提交数\n2026-03-02,3\n2026-03-03,0\n"},
		// Start given in UTC: written in China time all the same.
		{MetricActiveUsers, Hourly, []Point{{d.UTC().Add(time.Hour), 12}}, "时段,活跃用户数\n2026-03-02 01:00,12\n"},
		{MetricSatisfaction, Daily, []Point{{d, 4.5}, {d.AddDate(0, 0, 1), 0}}, "时段,平均满意度\n2026-03-02,4.50\n2026-03-03,0.00\n"},
	} {
		var buf bytes.Buffer
		if err := WriteSeriesCSV(&buf, c.metric, c.g, c.points); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimPrefix(buf.String(), utf8BOM); got != c.want {
			t.Errorf("%s: %q, want %q", c.metric, got, c.want)
		}
	}
	if err := WriteSeriesCSV(&bytes.Buffer{}, "REVENUE", Daily, nil); err == nil {
		t.Error("unknown metric written")
	}
}
