package exchange_test

// Importing 10,000 matters on SQLite:
//
//	go test -run '^$' -bench ImportMatters -benchtime 3x ./catalogue/exchange/
//
// The CSV file copies the demo catalogue's matters (full guides, themes,
// halls) under new codes, about 15 MB; the JSON file has smaller guides, so
// that it stays under the 20 MB limit. DryRun validates everything against
// the database; Apply creates the 10,000 matters (a new file each time);
// Unchanged imports the last applied file again.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"testing"

	"govmobile/catalogue/exchange"
)

const benchMatters = 10000

func BenchmarkImportMatters(b *testing.B) {
	db := newDB(b)
	demo, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(
		export(b, db, exchange.KindMatter, exchange.CSV, exchange.Scope{}), []byte("\uFEFF")))).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	for _, format := range formats {
		b.Run(string(format), func(b *testing.B) {
			file := benchFile(demo, format, "DRY")
			b.Run("DryRun", func(b *testing.B) {
				for b.Loop() {
					rep := importFile(b, db, exchange.KindMatter, format, file, exchange.Options{DryRun: true})
					if rep.Created != benchMatters {
						b.Fatalf("report %+v", rep.Errors[:min(3, len(rep.Errors))])
					}
				}
				b.ReportMetric(float64(len(file))/1e6, "MB")
			})
			var last []byte
			b.Run("Apply", func(b *testing.B) {
				i := 0
				for b.Loop() {
					b.StopTimer()
					i++
					last = benchFile(demo, format, fmt.Sprintf("B%s%d", format, i))
					b.StartTimer()
					rep := importFile(b, db, exchange.KindMatter, format, last, exchange.Options{})
					if rep.Created != benchMatters {
						b.Fatalf("report %+v", rep)
					}
				}
			})
			b.Run("Unchanged", func(b *testing.B) {
				for b.Loop() {
					rep := importFile(b, db, exchange.KindMatter, format, last, exchange.Options{})
					if rep.Unchanged != benchMatters {
						b.Fatalf("report %+v", rep)
					}
				}
			})
		})
	}
}

// benchFile is a file of benchMatters new matters, coded prefix-…; the
// CSV one copies the rows of demo.
func benchFile(demo [][]string, format exchange.Format, prefix string) []byte {
	if format == exchange.JSON {
		items := make([]any, benchMatters)
		for i := range items {
			items[i] = newMatter(fmt.Sprintf("%s-%05d", prefix, i))
		}
		return jsonFile(exchange.KindMatter, items...)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(demo[0])
	for i := range benchMatters {
		row := append([]string(nil), demo[1+i%(len(demo)-1)]...)
		row[0] = fmt.Sprintf("%s-%05d-%s", prefix, i, row[0])
		w.Write(row)
	}
	w.Flush()
	return buf.Bytes()
}
