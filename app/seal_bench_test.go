package app_test

import (
	"context"
	"testing"
	"time"

	"govmobile/gm"
	"govmobile/license"
	"govmobile/models"
	"govmobile/seal"
)

// BenchmarkVerifySeal (issue 8: verifying a sealed document under 2 ms):
// the record and the seal read, the certificate data parsed, the SM2
// signature verified over it, the digest and the time.
//
//	go test -run '^$' -bench VerifySeal -benchtime 2000x ./app/
func BenchmarkVerifySeal(b *testing.B) {
	be, _ := benchBackend(b)
	ctx := context.Background()
	var ag models.Agency
	if err := be.app.DB.Order("id").First(&ag).Error; err != nil {
		b.Fatal(err)
	}
	s, err := be.app.Seals.Create(ctx, 1, &ag, "行政审批专用章", true)
	if err != nil {
		b.Fatal(err)
	}
	doc := gm.SM3Hex([]byte("决定书"))
	rec, err := be.app.Seals.Sign(ctx, s.ID, seal.Signer{Kind: seal.SignerSystem}, doc, 0)
	if err != nil {
		b.Fatal(err)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		v, err := be.app.Seals.Verify(ctx, rec.ID, doc)
		if err != nil || !v.Genuine {
			b.Fatalf("%+v %v", v, err)
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, took)
}

// BenchmarkVerifyLicense (issue 8: verifying a licence under 2 ms): a
// licence file as a third party holds it, verified — parsed, its document
// digested, the issuing agency's seal verified over it, the licence's
// standing read.
//
//	go test -run '^$' -bench VerifyLicense -benchtime 2000x ./app/
func BenchmarkVerifyLicense(b *testing.B) {
	be, _ := benchBackend(b)
	ctx := context.Background()
	var ag models.Agency
	if err := be.app.DB.Order("id").First(&ag).Error; err != nil {
		b.Fatal(err)
	}
	if _, err := be.app.Seals.Create(ctx, 1, &ag, "证照专用章", true); err != nil {
		b.Fatal(err)
	}
	be.register(b, person(b))
	var u models.User
	be.app.DB.Order("id DESC").Take(&u)
	l, err := be.app.Licenses.Issue(ctx, &ag, license.Input{HolderUserID: u.ID, Kind: "ID_CARD", Title: "居民身份证", Number: "330106198501010011"})
	if err != nil {
		b.Fatal(err)
	}
	file, err := be.app.Licenses.FileOf(ctx, l)
	if err != nil {
		b.Fatal(err)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		c, err := be.app.Licenses.VerifyFile(ctx, string(file))
		if err != nil || c.Status != license.Valid {
			b.Fatalf("%+v %v", c, err)
		}
		took = append(took, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, took)
}
