package analytics

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// utf8BOM makes spreadsheet programs on Chinese Windows read the file as
// UTF-8 rather than GBK.
const utf8BOM = "\ufeff"

// WriteSeriesCSV writes a series as CSV: a header row, then one row per
// bucket (a day as 2006-01-02, an hour as 2006-01-02 15:00, China time).
func WriteSeriesCSV(w io.Writer, metric Metric, g Granularity, points []Point) error {
	spec, ok := metrics[metric]
	if !ok {
		return fmt.Errorf("analytics: unknown metric %q", metric)
	}
	layout := "2006-01-02 15:00"
	if g == Daily {
		layout = "2006-01-02"
	}
	records := [][]string{{"时段", spec.label}}
	for _, p := range points {
		v := strconv.FormatFloat(p.Value, 'f', 0, 64)
		if spec.average {
			v = strconv.FormatFloat(p.Value, 'f', 2, 64)
		}
		records = append(records, []string{p.Start.In(cst).Format(layout), v})
	}
	return writeCSV(w, records)
}

// WriteTopCSV writes a top list as CSV: a header row, then one row per
// rank.
func WriteTopCSV(w io.Writer, list List, rows []Row) error {
	spec, ok := lists[list]
	if !ok {
		return fmt.Errorf("analytics: unknown list %q", list)
	}
	records := [][]string{{"排名", spec.label, "次数"}}
	for i, r := range rows {
		name := r.Term
		if spec.subject != "" {
			name = strconv.FormatUint(r.SubjectID, 10)
		}
		records = append(records, []string{strconv.Itoa(i + 1), name, strconv.FormatInt(r.Count, 10)})
	}
	return writeCSV(w, records)
}

func writeCSV(w io.Writer, records [][]string) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	for _, rec := range records {
		for i := range rec {
			rec[i] = csvCell(rec[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvCell defuses a cell a spreadsheet would run as a formula: search terms
// are typed by anyone, and "=HYPERLINK(...)" in an administrator's Excel
// is an attack (CSV injection). A leading apostrophe makes it text.
func csvCell(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}
