package sdp

// static is RFC 3551's static payload type table (Tables 4 and 5), the
// encodings a payload type 0-34 means when no a=rtpmap names it. Gaps are
// reserved or unassigned types (1, 2 and 19 were withdrawn: §6). It is
// read-only: nothing writes it, and the names it hands out must not be
// modified by callers.
var static = [35]RTPMap{
	0:  {0, []byte("PCMU"), 8000, 0},
	3:  {3, []byte("GSM"), 8000, 0},
	4:  {4, []byte("G723"), 8000, 0},
	5:  {5, []byte("DVI4"), 8000, 0},
	6:  {6, []byte("DVI4"), 16000, 0},
	7:  {7, []byte("LPC"), 8000, 0},
	8:  {8, []byte("PCMA"), 8000, 0},
	9:  {9, []byte("G722"), 8000, 0}, // samples at 16 kHz, yet clock 8000: RFC 1890's error, kept (RFC 3551 §4.5.2)
	10: {10, []byte("L16"), 44100, 2},
	11: {11, []byte("L16"), 44100, 0},
	12: {12, []byte("QCELP"), 8000, 0},
	13: {13, []byte("CN"), 8000, 0},
	14: {14, []byte("MPA"), 90000, 0},
	15: {15, []byte("G728"), 8000, 0},
	16: {16, []byte("DVI4"), 11025, 0},
	17: {17, []byte("DVI4"), 22050, 0},
	18: {18, []byte("G729"), 8000, 0},
	25: {25, []byte("CelB"), 90000, 0},
	26: {26, []byte("JPEG"), 90000, 0},
	28: {28, []byte("nv"), 90000, 0},
	31: {31, []byte("H261"), 90000, 0},
	32: {32, []byte("MPV"), 90000, 0},
	33: {33, []byte("MP2T"), 90000, 0},
	34: {34, []byte("H263"), 90000, 0},
}

// StaticFormat returns the static encoding of payload type pt (RFC 3551
// §6), ok false for reserved, unassigned and dynamic types. Channels is 0
// (one) except for L16 stereo, type 10. The name must not be modified.
func StaticFormat(pt uint8) (RTPMap, bool) {
	if int(pt) >= len(static) || static[pt].Clock == 0 {
		return RTPMap{}, false
	}
	return static[pt], true
}
