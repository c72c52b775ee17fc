package g711

import "testing"

// Reference code words (ITU-T G.711 tables; silence and full scale).
func TestCodeWords(t *testing.T) {
	for _, c := range []struct {
		in         int16
		ulaw, alaw byte
	}{
		{0, 0xFF, 0xD5},
		{32767, 0x80, 0xAA},
		{-32768, 0x00, 0x2A},
	} {
		if got := ULaw(c.in); got != c.ulaw {
			t.Errorf("ULaw(%d) = %#x, want %#x", c.in, got, c.ulaw)
		}
		if got := ALaw(c.in); got != c.alaw {
			t.Errorf("ALaw(%d) = %#x, want %#x", c.in, got, c.alaw)
		}
	}
	// Monotonic: larger positive samples never give a smaller magnitude.
	prev := -1
	for s := 0; s <= 32767; s += 7 {
		m := int(^ULaw(int16(s)) & 0x7f)
		if m < prev {
			t.Fatalf("ULaw not monotonic at %d", s)
		}
		prev = m
	}
}
