//go:build unix

package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"govmobile/iface"
	"govmobile/models"
)

// BenchmarkHealthChecks1000 measures one scheduler run over 1,000 approved
// interfaces (all due), as happens once a minute: the CPU time the whole
// process spends (the checker, the database and the loopback provider
// answering the calls, so an overestimate), reported as the share of one
// core it takes at one run per minute. Issue 6's bar is 10 %.
func BenchmarkHealthChecks1000(b *testing.B) {
	be, _ := benchBackend(b)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"result_code":"100","error_code":"","error_msg":"","date":"2026-11-27"}`))
	}))
	b.Cleanup(src.Close)
	var app models.App
	if err := be.app.DB.Order("id").First(&app).Error; err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	rows := make([]*models.SourceInterface, 1000)
	for i := range rows {
		rows[i] = &models.SourceInterface{AppID: app.ID, Name: fmt.Sprintf("bench-%04d", i), Address: fmt.Sprintf("%s/i/%d", src.URL, i),
			Format: "JSON", Method: "POST", Protocol: "HTTP", Status: string(iface.Approved), AuthMode: string(iface.Signature),
			AuthKeyParam: "key", RequestParams: []models.InterfaceParam{{Name: "region", Required: true, Type: "string"}, {Name: "pf", Required: true, Type: "string"}},
			CreatedAt: now, UpdatedAt: now}
	}
	if err := be.app.DB.CreateInBatches(rows, 200).Error; err != nil {
		b.Fatal(err)
	}
	cfg := iface.HealthConfig{Interval: time.Minute}
	ctx := context.Background()
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		before := cpuTime()
		n, err := be.app.Interfaces.CheckDue(ctx, now.Add(time.Duration(i)*time.Minute), cfg)
		cpu += cpuTime() - before
		if err != nil || n != 1000 {
			b.Fatalf("checked %d: %v", n, err)
		}
	}
	perRun := cpu / time.Duration(b.N)
	b.ReportMetric(float64(perRun.Milliseconds()), "cpu-ms/run")
	b.ReportMetric(100*perRun.Seconds()/60, "%core-at-1/min")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
