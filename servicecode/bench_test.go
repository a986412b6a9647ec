package servicecode

// BenchmarkServiceCode (issue 5, "Numbers": signing and verifying a service
// code, at least 2,000 per second per core): one goroutine, so ns/op is the
// cost on one core.
//
//	go test -run '^$' -bench ServiceCode -cpu 1 ./servicecode/

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/platformkey"
)

func BenchmarkServiceCode(b *testing.B) {
	ctx := context.Background()
	db, _, err := database.Open(database.Config{DSN: "sqlite://" + filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := database.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	ring, err := platformkey.Open(ctx, db, gm.GenerateKey(gm.KeySize), Lifetime)
	if err != nil {
		b.Fatal(err)
	}
	s := New(ring)
	now := time.Now()
	claims := Claims{Kind: Personal, CodeID: "0123456789abcdef01234567", Holder: "张**", Number: "3301*****",
		UserType: string(models.UserNaturalPerson), IssuedAt: now.Unix(), ExpiresAt: now.Add(Lifetime).Unix()}
	payload, err := s.sign(ctx, claims)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.sign(ctx, claims); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if r, err := s.Verify(ctx, payload); err != nil || r.Status != Valid {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("sign+verify", func(b *testing.B) {
		for b.Loop() {
			p, err := s.sign(ctx, claims)
			if err != nil {
				b.Fatal(err)
			}
			if r, err := s.Verify(ctx, p); err != nil || r.Status != Valid {
				b.Fatal(r, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "codes/s")
	})
	profile := &models.UserProfile{UserType: models.UserNaturalPerson, RealName: "张三", IDNumber: "330106198501010011"}
	b.Run("issue-with-qr", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Issue(ctx, profile, Personal); err != nil {
				b.Fatal(err)
			}
		}
	})
}
