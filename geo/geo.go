// Package geo converts coordinates between the systems Chinese maps use and
// measures distances (8.1.2 i).
//
// GPS gives WGS-84. AMap and Tencent maps use GCJ-02, WGS-84 shifted by the
// national transform; Baidu uses BD-09, GCJ-02 with a further transform. The
// platform stores WGS-84 and converts at the edge. The GCJ-02 transform uses
// the Krasovsky ellipsoid and leaves points outside mainland China
// unchanged; its inverse is found by iteration, to well under a metre.
package geo

import (
	"fmt"
	"math"
)

// System is a coordinate system.
type System string

// The coordinate systems a client may use.
const (
	WGS84 System = "WGS84" // GPS, international maps
	GCJ02 System = "GCJ02" // AMap (高德), Tencent maps
	BD09  System = "BD09"  // Baidu maps
)

// Valid reports whether s is a known system.
func (s System) Valid() bool { return s == WGS84 || s == GCJ02 || s == BD09 }

// Point is a latitude and longitude in degrees.
type Point struct {
	Lat, Lng float64
}

// Check reports whether p is a point on Earth: latitude in [-90, 90],
// longitude in [-180, 180], both finite.
func (p Point) Check() error {
	if math.IsNaN(p.Lat) || math.IsNaN(p.Lng) || p.Lat < -90 || p.Lat > 90 || p.Lng < -180 || p.Lng > 180 {
		return fmt.Errorf("point (%v, %v) out of range", p.Lat, p.Lng)
	}
	return nil
}

// The Krasovsky 1940 ellipsoid the GCJ-02 transform is defined on.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
)

// outsideChina reports whether the GCJ-02 transform leaves p unchanged: the
// rough bounding box of mainland China used by every implementation.
func outsideChina(p Point) bool {
	return p.Lng < 72.004 || p.Lng > 137.8347 || p.Lat < 0.8293 || p.Lat > 55.8271
}

// gcjOffset is the shift GCJ-02 adds to a WGS-84 point.
func gcjOffset(p Point) (dLat, dLng float64) {
	x, y := p.Lng-105.0, p.Lat-35.0
	dLat = -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	dLat += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dLat += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	dLat += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	dLng = 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	dLng += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dLng += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	dLng += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	rad := p.Lat / 180.0 * math.Pi
	magic := math.Sin(rad)
	magic = 1 - krasovskyEE*magic*magic
	sq := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((krasovskyA * (1 - krasovskyEE)) / (magic * sq) * math.Pi)
	dLng = (dLng * 180.0) / (krasovskyA / sq * math.Cos(rad) * math.Pi)
	return dLat, dLng
}

// WGS84ToGCJ02 converts a GPS point to AMap/Tencent coordinates.
func WGS84ToGCJ02(p Point) Point {
	if outsideChina(p) {
		return p
	}
	dLat, dLng := gcjOffset(p)
	return Point{p.Lat + dLat, p.Lng + dLng}
}

// GCJ02ToWGS84 inverts WGS84ToGCJ02 by fixed-point iteration: each step
// moves the guess by the error its forward transform makes, until the error
// is below about a millimetre.
func GCJ02ToWGS84(p Point) Point {
	if outsideChina(p) {
		return p
	}
	w := p
	for i := 0; i < 30; i++ {
		g := WGS84ToGCJ02(w)
		dLat, dLng := g.Lat-p.Lat, g.Lng-p.Lng
		w = Point{w.Lat - dLat, w.Lng - dLng}
		if math.Abs(dLat) < 1e-9 && math.Abs(dLng) < 1e-9 {
			break
		}
	}
	return w
}

// bdX is Baidu's π·3000/180.
const bdX = math.Pi * 3000.0 / 180.0

// GCJ02ToBD09 converts AMap/Tencent coordinates to Baidu's.
func GCJ02ToBD09(p Point) Point {
	x, y := p.Lng, p.Lat
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdX)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdX)
	return Point{Lat: z*math.Sin(theta) + 0.006, Lng: z*math.Cos(theta) + 0.0065}
}

// BD09ToGCJ02 converts Baidu coordinates to AMap/Tencent's.
func BD09ToGCJ02(p Point) Point {
	x, y := p.Lng-0.0065, p.Lat-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdX)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdX)
	return Point{Lat: z * math.Sin(theta), Lng: z * math.Cos(theta)}
}

// ToWGS84 converts a point given in system s to WGS-84.
func ToWGS84(p Point, s System) Point {
	switch s {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return GCJ02ToWGS84(BD09ToGCJ02(p))
	}
	return p
}

// FromWGS84 converts a WGS-84 point to system s.
func FromWGS84(p Point, s System) Point {
	switch s {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return GCJ02ToBD09(WGS84ToGCJ02(p))
	}
	return p
}

// earthRadius is the mean Earth radius in metres (IUGG).
const earthRadius = 6371008.8

// Distance is the great-circle distance between two WGS-84 points in metres
// (haversine).
func Distance(a, b Point) float64 {
	const rad = math.Pi / 180
	dLat, dLng := (b.Lat-a.Lat)*rad, (b.Lng-a.Lng)*rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}

// Box is the latitude and longitude range holding every point within
// radius metres of p (a little more near the poles, never less).
func Box(p Point, radius float64) (minLat, maxLat, minLng, maxLng float64) {
	dLat := radius / earthRadius * 180 / math.Pi
	minLat, maxLat = math.Max(-90, p.Lat-dLat), math.Min(90, p.Lat+dLat)
	cos := math.Cos(math.Max(math.Abs(minLat), math.Abs(maxLat)) * math.Pi / 180)
	if cos < 1e-6 || radius >= math.Pi*earthRadius*cos {
		return minLat, maxLat, -180, 180
	}
	dLng := math.Asin(math.Min(1, math.Sin(radius/earthRadius)/cos)) * 180 / math.Pi
	minLng, maxLng = p.Lng-dLng, p.Lng+dLng
	if minLng < -180 || maxLng > 180 { // across the antimeridian: take all
		return minLat, maxLat, -180, 180
	}
	return minLat, maxLat, minLng, maxLng
}
