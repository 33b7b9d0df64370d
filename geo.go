package parcelguard

import "math"

// earthRadiusM is the mean Earth radius used for distances between sites.
const earthRadiusM = 6_371_008.8

// DistanceM returns the great-circle (haversine) distance in metres between
// two WGS 84 points given in degrees. Good to well under 0.5 % at the scale
// of "the nearest locker", which is all it is used for.
func DistanceM(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}
