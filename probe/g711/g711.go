// Package g711 encodes linear PCM as ITU-T G.711 (µ-law and A-law): the
// payloads of the generated test captures and of the active probe's test
// calls.
package g711

// ULaw encodes a 16-bit linear sample as G.711 µ-law (ITU-T G.711,
// the classic Sun reference: bias 0x84, clip 32635, segment search).
func ULaw(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// ALaw encodes a 16-bit linear sample as G.711 A-law (even bits
// inverted, 0x55).
func ALaw(s int16) byte {
	v := int(s) >> 3 // 13-bit magnitude range
	sign := 0x80
	if v < 0 {
		v, sign = -v-1, 0
	}
	var out int
	if v < 32 {
		out = v >> 1
	} else {
		exp := 1
		for t := v >> 5; t > 1 && exp < 7; t >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>exp)&0x0f
	}
	return byte(out|sign) ^ 0x55
}
