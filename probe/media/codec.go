package media

import (
	"strconv"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// Codec is an RTP payload format as a description named it.
type Codec struct {
	// Name is the encoding name as first seen (PCMU, opus, G722, ...).
	Name string
	// Clock is the RTP clock rate in Hz, the unit of RTP timestamps:
	// 8000 for G.722 (RFC 3551 §4.5.2), 48000 for Opus (RFC 7587 §4.1).
	Clock uint32
	// Channels is the number of audio channels, 0 when not given (one).
	Channels uint8
}

// Codecs live in a per-table pool, and entries hold 2-byte indexes into it:
// there are few distinct codecs in the world, and a copy of each name in
// each entry would double an entry's size. The pool is bounded, seeded with
// the static table of RFC 3551 and the usual dynamic formats so that a flood
// of made-up codec names cannot crowd those out; id 0 means none.
const (
	maxCodecs       = 1024
	maxCodecNameLen = 64
)

type codecPool struct {
	list []Codec // by id; list[0] is the zero Codec
	ids  map[string]uint16
	// static maps a static payload type to its id, for payload types that
	// a stream uses without its description listing them.
	static  [35]uint16
	scratch []byte
}

func newCodecPool() codecPool {
	p := codecPool{list: make([]Codec, 1, 64), ids: make(map[string]uint16, 64)}
	for pt := range p.static {
		if f, ok := sdp.StaticFormat(uint8(pt)); ok {
			p.static[pt], _ = p.intern(f.Name, f.Clock, f.Channels)
		}
	}
	// Seeded after the static ones; clocks are those of the formats' RTP
	// payload RFCs.
	commonCodecs := [...]Codec{
		{"telephone-event", 8000, 0},  // RFC 4733
		{"telephone-event", 16000, 0}, // wideband calls
		{"telephone-event", 48000, 0}, // Opus calls
		{"opus", 48000, 2},            // RFC 7587 §7: always 48000/2 in SDP
		{"AMR", 8000, 0},              // RFC 4867
		{"AMR-WB", 16000, 0},          // RFC 4867
		{"iLBC", 8000, 0},             // RFC 3952
		{"G7221", 16000, 0},           // RFC 5577
		{"G7221", 32000, 0},
		{"speex", 8000, 0}, // RFC 5574
		{"speex", 16000, 0},
		{"CN", 16000, 0}, // RFC 3389 at wideband rates
		{"CN", 48000, 0},
		{"red", 8000, 0},   // RFC 2198
		{"H264", 90000, 0}, // RFC 6184
		{"VP8", 90000, 0},  // RFC 7741
	}
	for _, c := range commonCodecs {
		p.intern([]byte(c.Name), c.Clock, c.Channels)
	}
	return p
}

// intern returns the id of a codec, adding it while there is room. Names
// compare case-insensitively (RFC 4855 §3).
func (p *codecPool) intern(name []byte, clock uint32, ch uint8) (uint16, bool) {
	if len(name) == 0 || len(name) > maxCodecNameLen {
		return 0, false
	}
	k := p.scratch[:0]
	for _, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		k = append(k, c)
	}
	k = append(k, '/')
	k = strconv.AppendUint(k, uint64(clock), 10)
	k = append(k, '/')
	k = strconv.AppendUint(k, uint64(ch), 10)
	p.scratch = k
	if id, ok := p.ids[string(k)]; ok {
		return id, true
	}
	if len(p.list) >= maxCodecs {
		return 0, false
	}
	id := uint16(len(p.list))
	p.list = append(p.list, Codec{Name: string(name), Clock: clock, Channels: ch})
	p.ids[string(k)] = id
	return id, true
}
