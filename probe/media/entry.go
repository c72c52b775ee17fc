package media

import (
	"iter"
	"net/netip"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// Entry is one media endpoint: where one party of a call receives one
// stream (one m= section of its description), with what it expects there.
//
// Entries live in the Table. A pointer from Lookup stays usable until the
// next Learn, End or Advance, which may move or remove entries; Lookup and
// Touch do not. Read it through its methods.
//
// Memory: 160 bytes (unsafe.Sizeof, amd64) in a slab that grows by a
// quarter; one key in the key map, the RTP address (RTCP on port + 1 needs
// none; a=rtcp's address, rarer, a second), some 20 to 40 bytes by the
// map's fill; and a share of the call's record and Call-ID, which a call's
// entries share. TestMemoryPerEntry measures 234 to 294 bytes per entry by
// table size, with 36-byte Call-IDs shared by two entries (some 24 bytes of
// that): under 300 bytes plus the Call-ID.
type Entry struct {
	callID string
	pool   *codecPool
	rtp    key
	rtcp   key // a=rtcp's address, valid with flagRTCPKey
	// atUS is the capture time of the last Learn or Touch; once the call
	// has ended, the time the entry goes.
	atUS int64
	// prev and next link the entry into the Table's LRU list, or its
	// linger list once ended; callNext links the call's entries.
	prev, next, callNext int32
	idx                  int32
	// party tells the parties of a call apart (see partyOf).
	party uint32
	media uint8
	dir   sdp.Direction
	flags flags
	npt   uint8
	pts   [sdp.MaxFormats]ptCodec
}

type flags uint8

const (
	flagUsed     flags = 1 << iota // the slot holds an entry
	flagOffer                      // the party's latest description was an offer
	flagHold                       // ... held the stream (sendonly, inactive, 0.0.0.0)
	flagMux                        // ... asked for rtcp-mux, and no answer refused it
	flagRTP                        // the stream's proto is RTP
	flagRTCPKey                    // rtcp is in the key map for this entry
	flagRTCPNext                   // RTCP goes to the RTP port + 1 (no a=rtcp)
	flagEnded                      // End was called; the entry lingers
)

type ptCodec struct {
	pt uint8
	id uint16
}

// CallID returns the Call-ID, a copy that outlives the packets it came in.
func (e *Entry) CallID() string { return e.callID }

// MediaIndex is the position of the stream's m= line in the description,
// from 0: it pairs the party's stream with the peer's (RFC 3264 §6).
func (e *Entry) MediaIndex() int { return int(e.media) }

// RTP returns the address the party receives the stream's RTP on.
func (e *Entry) RTP() netip.AddrPort { return e.rtp.addrPort() }

// RTCP returns where the party receives RTCP by its description: the RTP
// address when multiplexed, else a=rtcp's port and address (RFC 3605), else
// the RTP port + 1 (RFC 3550 §11). Not valid for a stream that is not RTP.
// Where another stream receives RTP at that address, Lookup finds that
// stream instead.
func (e *Entry) RTCP() netip.AddrPort {
	switch {
	case e.flags&flagRTP == 0:
		return netip.AddrPort{}
	case e.flags&flagMux != 0:
		return e.RTP()
	case e.flags&flagRTCPKey != 0:
		return e.rtcp.addrPort()
	case e.flags&flagRTCPNext != 0:
		rtp := e.RTP()
		return netip.AddrPortFrom(rtp.Addr(), rtp.Port()+1)
	}
	return netip.AddrPort{}
}

// RTCPMux reports whether RTCP is multiplexed on the RTP port (RFC 5761):
// the party asked for it and no answer seen refused it. Packets on the RTP
// port are then told apart by their second byte (RFC 5761 §4: RTCP packet
// types 192-223 fall where RTP payload types 64-95 would).
func (e *Entry) RTCPMux() bool { return e.flags&flagMux != 0 }

// IsRTP reports whether the stream's transport is RTP (not T.38 over udptl,
// MSRP, ...).
func (e *Entry) IsRTP() bool { return e.flags&flagRTP != 0 }

// Direction is the party's direction attribute for the stream.
func (e *Entry) Direction() sdp.Direction { return e.dir }

// OnHold reports whether the party's latest description held the stream:
// sendonly or inactive (RFC 3264 §8.4), or c=0.0.0.0 (RFC 2543). Media
// arriving at a held endpoint is unexpected, not lost.
func (e *Entry) OnHold() bool { return e.flags&flagHold != 0 }

// FromOffer reports whether the party's latest description was an offer.
func (e *Entry) FromOffer() bool { return e.flags&flagOffer != 0 }

// Ended reports whether End was called for the call: the entry lingers.
func (e *Entry) Ended() bool { return e.flags&flagEnded != 0 }

// Codec returns the codec of payload type pt as the party's description
// mapped it. A static payload type (0-34) it did not list still resolves,
// by RFC 3551's table: comfort noise (13) often arrives unannounced.
func (e *Entry) Codec(pt uint8) (Codec, bool) {
	for _, p := range e.pts[:e.npt] {
		if p.pt == pt {
			return e.pool.list[p.id], true
		}
	}
	if int(pt) < len(e.pool.static) {
		if id := e.pool.static[pt]; id != 0 {
			return e.pool.list[id], true
		}
	}
	return Codec{}, false
}

// Codecs yields the payload types the party listed, in its order of
// preference (RFC 3264 §5.1), with their codecs. Dynamic types without an
// rtpmap are left out.
func (e *Entry) Codecs() iter.Seq2[uint8, Codec] {
	return func(yield func(uint8, Codec) bool) {
		for _, p := range e.pts[:e.npt] {
			if !yield(p.pt, e.pool.list[p.id]) {
				return
			}
		}
	}
}
