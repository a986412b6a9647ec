package app_test

// BenchmarkServiceHallsNear (issue 5, "Numbers": serviceHalls(near:) over
// 10,000 halls, median under 10 ms): 10,000 halls are added, most around
// thirty city centres and the rest spread over eastern and central China;
// each iteration asks over HTTP for the 20 nearest halls (default radius,
// 50 km) to a point near one of the centres, with distance, location and
// region. p50 and p95 are reported.
//
//	go test -run '^$' -bench ServiceHallsNear -benchtime 2000x ./app/
//	TEST_MYSQL_DSN=… go test -run '^$' -bench ServiceHallsNear -benchtime 2000x ./app/

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"govmobile/models"
)

func BenchmarkServiceHallsNear(b *testing.B) {
	be, _ := benchBackend(b)
	rng := rand.New(rand.NewPCG(5, 6))
	centres := make([][2]float64, 30)
	for i := range centres {
		centres[i] = [2]float64{23 + rng.Float64()*17, 104 + rng.Float64()*17}
	}
	var county models.Region
	if err := be.app.DB.Where("level = ?", models.RegionCounty).First(&county).Error; err != nil {
		b.Fatal(err)
	}
	halls := make([]models.Hall, 10_000)
	for i := range halls {
		lat, lng := 20+rng.Float64()*25, 100+rng.Float64()*22
		if i%10 < 7 {
			c := centres[rng.IntN(len(centres))]
			lat, lng = c[0]+rng.NormFloat64()*0.4, c[1]+rng.NormFloat64()*0.4
		}
		halls[i] = models.Hall{Name: fmt.Sprintf("基准测试大厅%05d", i), Address: "基准测试地址", Lat: lat, Lng: lng,
			Phone: "12345", OpeningHours: "周一至周五 9:00-17:00", RegionCode: county.Code}
	}
	if err := be.app.DB.CreateInBatches(halls, 500).Error; err != nil {
		b.Fatal(err)
	}
	q := `query($near: GeoPointInput!) { serviceHalls(near: $near, first: 20) { totalCount edges { node { id name address distanceMeters location { lat lng } region { name } } } } }`
	took := make([]time.Duration, 0, b.N)
	seen := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := centres[i%len(centres)]
		near := map[string]any{"lat": c[0] + rng.NormFloat64()*0.2, "lng": c[1] + rng.NormFloat64()*0.2}
		start := time.Now()
		r := be.gql(b, "", q, map[string]any{"near": near})
		took = append(took, time.Since(start))
		if len(r.Errors) > 0 {
			b.Fatal(string(r.Raw))
		}
		var out struct{ ServiceHalls struct{ TotalCount int } }
		r.decode(b, &out)
		seen += out.ServiceHalls.TotalCount
	}
	b.StopTimer()
	reportLatency(b, took)
	b.ReportMetric(float64(seen)/float64(b.N), "halls-in-radius")
}
