package media

import "github.com/trunkscope/trunkscope/probe/sdp"

// RemoveReason says why an entry left the table.
type RemoveReason uint8

// Removal reasons. NumRemoveReasons sizes Stats.Removed.
const (
	RemovedEnded    RemoveReason = iota // its call ended and the linger is over
	RemovedExpired                      // neither learnt nor touched for the TTL
	RemovedCapacity                     // evicted to stay within MaxEntries
	RemovedReplaced                     // a later description claimed its RTP address
	RemovedDisabled                     // its party set the port to 0 or dropped the m= line
	RemovedCallCap                      // its call had too many parties' entries
	NumRemoveReasons
)

// String returns a snake_case name suitable for metric labels.
func (r RemoveReason) String() string {
	switch r {
	case RemovedEnded:
		return "ended"
	case RemovedExpired:
		return "expired"
	case RemovedCapacity:
		return "capacity"
	case RemovedReplaced:
		return "replaced"
	case RemovedDisabled:
		return "disabled"
	case RemovedCallCap:
		return "call_cap"
	}
	return "unknown"
}

// Stats counts what the table holds and did. Faults are counted here, never
// logged (STYLE.md §6).
type Stats struct {
	// Entries and Calls are held now.
	Entries, Calls int
	// Learns counts descriptions parsed; Learned the entries they created,
	// Updated those they refreshed in place, Moved those whose address
	// changed.
	Learns, Learned, Updated, Moved uint64
	// Ended counts calls ended by End.
	Ended uint64
	// Removed counts entries gone, by reason. RemovedCapacity, Expired,
	// Replaced and CallCap are evictions; RemovedEnded is the normal end.
	Removed [NumRemoveReasons]uint64
	// ParseErrors counts bodies package sdp rejected, by its reason.
	ParseErrors [sdp.NumReasons]uint64
	// BadCallIDs counts Learns refused for their Call-ID.
	BadCallIDs uint64
	// Unmappable counts streams with a port but no address to map: an
	// FQDN, a non-IN network, c=0.0.0.0 with no earlier address, or no
	// c= and no sender.
	Unmappable uint64
	// LateLearns counts descriptions for calls already ended, ignored.
	LateLearns uint64
	// Truncated counts descriptions with more streams, formats or rtpmaps
	// than package sdp keeps.
	Truncated uint64
	// CodecsDropped counts payload types left out because the codec pool
	// was full or the name over 64 bytes.
	CodecsDropped uint64
}

// Stats returns the counters.
func (t *Table) Stats() Stats {
	s := t.stats
	s.Entries, s.Calls = t.n, len(t.calls)
	return s
}

// Counter is one named count, for printing or export as a metric.
type Counter struct {
	Name  string
	Value uint64
}

// Counters lists every counter, zero or not, in a fixed order. Names are
// snake_case, fit for a metric label.
func (s *Stats) Counters() []Counter {
	out := []Counter{
		{"entries", uint64(s.Entries)},
		{"calls", uint64(s.Calls)},
		{"learns", s.Learns},
		{"learned", s.Learned},
		{"updated", s.Updated},
		{"moved", s.Moved},
		{"ended", s.Ended},
	}
	for r := RemoveReason(0); r < NumRemoveReasons; r++ {
		out = append(out, Counter{"removed_" + r.String(), s.Removed[r]})
	}
	for r := sdp.ReasonNone + 1; r < sdp.NumReasons; r++ {
		out = append(out, Counter{"sdp_" + r.String(), s.ParseErrors[r]})
	}
	return append(out,
		Counter{"bad_call_id", s.BadCallIDs},
		Counter{"unmappable", s.Unmappable},
		Counter{"late_learns", s.LateLearns},
		Counter{"truncated", s.Truncated},
		Counter{"codecs_dropped", s.CodecsDropped},
	)
}
