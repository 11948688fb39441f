package semantic

import "math"

// MaxDimensions bounds the vectors the Store takes; the largest
// embedding models answer 3072 or 4096.
const MaxDimensions = 16384

// Normalize scales v to unit length in place, so that the cosine
// similarity of two vectors is their dot product. It reports false for a
// vector that has no direction (all zeros) or holds a NaN or an infinity.
func Normalize(v []float32) bool {
	var sum float64
	for _, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		sum += f * f
	}
	if sum == 0 || math.IsInf(sum, 0) {
		return false
	}
	scale := 1 / math.Sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * scale)
	}
	return true
}

// dot is the dot product of a and b, which have the same length: the
// cosine similarity of unit vectors. Eight accumulators let the loop
// keep the FPU busy, and the reslices drop bounds checks: about 0.4 ns a
// dimension (see BenchmarkLookup).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		x := a[i : i+8 : i+8]
		y := b[i : i+8 : i+8]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
		s4 += x[4] * y[4]
		s5 += x[5] * y[5]
		s6 += x[6] * y[6]
		s7 += x[7] * y[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3) + (s4 + s5) + (s6 + s7)
}
