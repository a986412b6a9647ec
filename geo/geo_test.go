package geo_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"govmobile/geo"
)

// The reference points of SPEC §7 (WGS-84 → GCJ-02).
var references = []struct{ wgs, gcj geo.Point }{
	{geo.Point{Lat: 39.911954, Lng: 116.377817}, geo.Point{Lat: 39.91334545536069, Lng: 116.38404722455657}}, // Beijing
	{geo.Point{Lat: 31.1774276, Lng: 121.5272106}, geo.Point{Lat: 31.17530398364597, Lng: 121.531541859215}}, // Shanghai
}

func TestWGS84ToGCJ02MatchesReferencePoints(t *testing.T) {
	for _, r := range references {
		got := geo.WGS84ToGCJ02(r.wgs)
		if math.Abs(got.Lat-r.gcj.Lat) > 1e-9 || math.Abs(got.Lng-r.gcj.Lng) > 1e-9 {
			t.Errorf("WGS84ToGCJ02(%v) = %v, want %v", r.wgs, got, r.gcj)
		}
		if d := geo.Distance(geo.GCJ02ToWGS84(r.gcj), r.wgs); d > 0.5 {
			t.Errorf("GCJ02ToWGS84(%v) is %.3f m from %v", r.gcj, d, r.wgs)
		}
	}
}

// Every conversion comes back to where it started, to under half a metre,
// anywhere in China.
func TestRoundTrips(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		p := geo.Point{Lat: 18 + rng.Float64()*35, Lng: 74 + rng.Float64()*60}
		for _, s := range []geo.System{geo.WGS84, geo.GCJ02, geo.BD09} {
			back := geo.ToWGS84(geo.FromWGS84(p, s), s)
			if d := geo.Distance(p, back); d > 0.5 {
				t.Fatalf("%s round trip of %v: %v, %.3f m off", s, p, back, d)
			}
		}
		// BD-09 differs from GCJ-02 by a few hundred metres, never nothing.
		if d := geo.Distance(geo.FromWGS84(p, geo.GCJ02), geo.FromWGS84(p, geo.BD09)); d < 100 || d > 2000 {
			t.Fatalf("BD-09 is %.0f m from GCJ-02 at %v", d, p)
		}
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	for _, p := range []geo.Point{{Lat: 48.8566, Lng: 2.3522}, {Lat: -33.86, Lng: 151.21}, {Lat: 40.71, Lng: -74.0}} {
		if got := geo.WGS84ToGCJ02(p); got != p {
			t.Errorf("%v moved to %v", p, got)
		}
		if got := geo.GCJ02ToWGS84(p); got != p {
			t.Errorf("%v moved back to %v", p, got)
		}
	}
}

func TestDistance(t *testing.T) {
	// Beijing Tiananmen to Shanghai People's Square: about 1,067 km.
	d := geo.Distance(geo.Point{Lat: 39.9087, Lng: 116.3975}, geo.Point{Lat: 31.2304, Lng: 121.4737})
	if d < 1_060_000 || d > 1_075_000 {
		t.Fatalf("Beijing–Shanghai %.0f m", d)
	}
	if d := geo.Distance(geo.Point{Lat: 30, Lng: 120}, geo.Point{Lat: 30, Lng: 120}); d != 0 {
		t.Fatalf("a point to itself: %v", d)
	}
}

// Box holds every point within the radius.
func TestBoxHoldsTheCircle(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		c := geo.Point{Lat: -80 + rng.Float64()*160, Lng: -179 + rng.Float64()*358}
		r := 1000 + rng.Float64()*500_000
		minLat, maxLat, minLng, maxLng := geo.Box(c, r)
		for j := 0; j < 50; j++ {
			p := geo.Point{Lat: c.Lat + (rng.Float64()*2-1)*r/111_000*1.5, Lng: c.Lng + (rng.Float64()*2-1)*r/11_000}
			if p.Check() != nil || geo.Distance(c, p) > r {
				continue
			}
			if p.Lat < minLat || p.Lat > maxLat || p.Lng < minLng || p.Lng > maxLng {
				t.Fatalf("%v is %.0f m from %v (radius %.0f) but outside the box", p, geo.Distance(c, p), c, r)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	for _, p := range []geo.Point{{Lat: 91, Lng: 0}, {Lat: 0, Lng: -181}, {Lat: math.NaN(), Lng: 0}, {Lat: math.Inf(1), Lng: 0}} {
		if p.Check() == nil {
			t.Errorf("%v accepted", p)
		}
	}
	if (geo.Point{Lat: -90, Lng: 180}).Check() != nil {
		t.Error("the edge of the range refused")
	}
}
