package app_test

// BenchmarkAuditRecord (issue 6, "Numbers": an audit log write adds under
// 1 ms to an admin mutation at the median): the write the @admin directive
// makes after every administrator mutation, with typical arguments.
//
//	go test -run '^$' -bench AuditRecord -benchtime 2000x ./app/
//	TEST_MYSQL_DSN=… go test -run '^$' -bench AuditRecord -benchtime 2000x ./app/

import (
	"context"
	"testing"
	"time"

	"govmobile/audit"
	"govmobile/models"
	"govmobile/resolvers"
)

func BenchmarkAuditRecord(b *testing.B) {
	be, _ := benchBackend(b)
	var admin models.Admin
	if err := be.app.DB.Where("username = ?", "admin").Take(&admin).Error; err != nil {
		b.Fatal(err)
	}
	e := audit.Entry{Admin: &admin, Operation: "rectify", Outcome: "OK", IP: "127.0.0.1",
		Arguments: map[string]any{"input": map[string]any{"rectificationId": "UmVjdGlmaWNhdGlvbjox", "measures": "高峰期增开两个窗口", "reply": "已增开窗口，欢迎再来办理"}}}
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := be.app.Audit.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, took)
}

// BenchmarkAuditRecordWithSnapshots is the whole cost the directive adds to
// a mutation that names an object: the object read before, read again
// after, and the entry written with both (an app, as takeAppOffline).
func BenchmarkAuditRecordWithSnapshots(b *testing.B) {
	be, _ := benchBackend(b)
	var admin models.Admin
	if err := be.app.DB.Where("username = ?", "admin").Take(&admin).Error; err != nil {
		b.Fatal(err)
	}
	var app models.App
	if err := be.app.DB.Order("id").First(&app).Error; err != nil {
		b.Fatal(err)
	}
	r := &resolvers.Resolver{Apps: be.app.Apps, Interfaces: be.app.Interfaces, Filings: be.app.Filings, Identity: be.app.Identity}
	args := map[string]any{"input": map[string]any{"appId": resolvers.GlobalID("App", app.ID), "reason": "页面适配问题"}}
	ctx := context.Background()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		before := r.Snapshot(ctx, "takeAppOffline", args)
		after := r.Snapshot(ctx, "takeAppOffline", args)
		if before == nil || after == nil {
			b.Fatal("no snapshot")
		}
		if err := be.app.Audit.Record(ctx, audit.Entry{Admin: &admin, Operation: "takeAppOffline", Outcome: "OK", IP: "127.0.0.1",
			Arguments: args, Before: before, After: after}); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, took)
}
