// Package media keeps the probe's map from media transport addresses to
// calls: which Call-ID, stream and codecs an RTP or RTCP packet belongs to,
// learnt from the SDP offers and answers (RFC 3264) that the call's SIP
// messages carry (DESIGN.md, Probe).
//
// Each party's description says where that party receives each stream (c=
// and m=, RFC 8866), where it receives RTCP (a=rtcp, RFC 3605; port + 1,
// RFC 3550 §11; or the RTP port with rtcp-mux, RFC 5761), and which payload
// type numbers it expects for which codec (a=rtpmap, and RFC 3551's static
// types). So a packet is matched by its destination, against the receiver's
// description; see Lookup and LookupPair for the rule and its fallback.
//
// A Table is not safe for concurrent use: the probe keeps one per capture
// goroutine. Time is capture time in microseconds, never the wall clock, so
// that a replayed capture maps and expires exactly as it did live.
package media

import (
	"errors"
	"net/netip"

	"github.com/trunkscope/trunkscope/probe/sdp"
)

// MaxCallIDLen bounds the Call-IDs a Table copies. RFC 3261 sets no limit;
// real ones stay under 100 bytes, and the bound keeps a hostile one from
// costing more than its entry.
const MaxCallIDLen = 512

// maxPerCall bounds a call's entries (MaxMedia streams of 8 parties: the
// offerer and forks answering with early media), so that finding a party's
// entry stays a short walk even when one Call-ID is flooded with parties.
const maxPerCall = sdp.MaxMedia * 8

// touchEveryUS is how far apart Touch moves an entry in the LRU list: a
// stream's 50 packets a second need not reorder the list 50 times.
const touchEveryUS = 1_000_000

// ErrCallID is returned by Learn for an empty or over-long Call-ID.
var ErrCallID = errors.New("media: Call-ID empty or over 512 bytes")

// Table maps media addresses to calls. Create it with New.
type Table struct {
	maxEntries      int
	ttlUS, lingerUS int64

	// entries is a slab: indexes, not pointers, link entries, so that the
	// lists cost 4 bytes a link and removal frees nothing. free heads a
	// list of unused slots through next.
	entries []Entry
	free    int32
	n       int

	keys  keyMap
	calls map[string]callRec
	// lru orders live entries by last Learn or Touch, oldest first;
	// linger orders ended ones by the time they go.
	lru, linger list
	nowUS       int64

	pool codecPool
	sess sdp.Session // reused by every Learn
	// id is the Call-ID copy of the call being learnt, once made: a call's
	// entries share one. It lives here rather than in the learner so that
	// escape analysis keeps Learn's callID argument off the heap.
	id    string
	stats Stats
}

type callRec struct {
	first int32 // the call's newest entry; others follow through callNext
	n     int32
	ended bool
}

// New returns an empty table.
func New(opts ...Opt) (*Table, error) {
	c := defaultCfg()
	for _, o := range opts {
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &Table{
		maxEntries: c.maxEntries,
		ttlUS:      c.ttl.Microseconds(),
		lingerUS:   c.linger.Microseconds(),
		free:       -1,
		keys:       newKeyMap(),
		calls:      make(map[string]callRec),
		lru:        newList(),
		linger:     newList(),
		pool:       newCodecPool(),
	}, nil
}

// Learn records a description that callID's SIP message sent by sender
// carried at capture time tsUS: for each m= section with a non-zero port,
// where the describing party receives RTP and RTCP, and its codecs.
//
// A later description from the same party (a re-INVITE or UPDATE offer, a
// 200 after a 183, a retransmission) updates the party's entries: a new
// direction or hold, a new codec list replacing the old, a new address or
// port moving the entry; port 0 removes it (RFC 3264 §8.2). Parties are
// told apart by their o= line, which RFC 3264 §8 keeps fixed but for its
// version across a party's descriptions, so it does not matter which side
// sends a re-offer. Without o=, the offer's and the answer's sides are the
// parties.
//
// fromOffer says whether the description is an offer (an INVITE's, or a
// 200's to an INVITE without one) or an answer. It decides rtcp-mux: RTCP
// is multiplexed only if the answer agrees (RFC 5761 §5.1.1).
//
// The address is the section's c= (or the session's); when the description
// has none at all, sender's. c=0.0.0.0 holds the stream without moving it
// (RFC 3264 §8.4). An FQDN cannot be mapped and is counted (Unmappable).
//
// Learn returns ErrCallID, or package sdp's sentinel for a body it could
// not parse; both are counted in Stats. A call already ended is not
// learnt again (LateLearns): a retransmitted 200 after the BYE describes
// the past.
func (t *Table) Learn(tsUS int64, callID []byte, fromOffer bool, body []byte, sender netip.Addr) error {
	if len(callID) == 0 || len(callID) > MaxCallIDLen {
		t.stats.BadCallIDs++
		return ErrCallID
	}
	t.Advance(tsUS)
	s := &t.sess
	if err := sdp.Parse(body, s); err != nil {
		t.stats.ParseErrors[sdp.ReasonOf(err)]++
		return err
	}
	t.stats.Learns++
	if s.Truncated > 0 {
		t.stats.Truncated++
	}
	if c, ok := t.calls[string(callID)]; ok && c.ended {
		t.stats.LateLearns++
		return nil
	}
	t.id = ""
	l := learner{tsUS: tsUS, callID: callID, party: partyOf(s, fromOffer), offer: fromOffer, sender: sender}
	for i := range s.Media[:s.NumMedia] {
		t.learnMedia(&l, i, &s.Media[i])
	}
	// A stream that vanished from the party's description (RFC 3264 §8
	// forbids removing m= lines, stacks do it) takes its entry with it.
	for i := t.callFirst(callID); i >= 0; {
		e := &t.entries[i]
		next := e.callNext
		if e.party == l.party && int(e.media) >= s.NumMedia {
			t.remove(i, RemovedDisabled)
		}
		i = next
	}
	if !fromOffer {
		t.reconcileMux(callID, l.party)
	}
	t.id = ""
	return nil
}

// partyOf identifies the party a description is from: a hash of its o=
// line without the version (RFC 3264 §8: "the origin field ... MUST be the
// same as in the previous SDP, except that the version MUST be one higher").
func partyOf(s *sdp.Session, fromOffer bool) uint32 {
	o := &s.Origin
	if o.Username == nil {
		if fromOffer {
			return 1
		}
		return 2
	}
	// FNV-1a, inline: hash/fnv's interface value would allocate.
	h := uint32(2166136261)
	for _, f := range [...][]byte{o.Username, o.SessID, o.NetType, o.AddrType, o.Address} {
		for _, c := range f {
			h = (h ^ uint32(c)) * 16777619
		}
		h = (h ^ ' ') * 16777619
	}
	return h
}

// reconcileMux applies an answer to the offerers' rtcp-mux: multiplexing
// holds for a stream only if the answer has a=rtcp-mux (RFC 5761 §5.1.1).
func (t *Table) reconcileMux(callID []byte, answerer uint32) {
	s := &t.sess
	for i := t.callFirst(callID); i >= 0; i = t.entries[i].callNext {
		e := &t.entries[i]
		if e.party != answerer && int(e.media) < s.NumMedia && !s.Media[e.media].RTCPMux {
			e.flags &^= flagMux
		}
	}
}

// callFirst returns the newest entry of a call, -1 if it has none.
func (t *Table) callFirst(callID []byte) int32 {
	if c, ok := t.calls[string(callID)]; ok {
		return c.first
	}
	return -1
}

// find returns the entry of a party's stream, -1 if there is none.
func (t *Table) find(callID []byte, party uint32, media int) int32 {
	for i := t.callFirst(callID); i >= 0; i = t.entries[i].callNext {
		if e := &t.entries[i]; e.party == party && int(e.media) == media {
			return i
		}
	}
	return -1
}
