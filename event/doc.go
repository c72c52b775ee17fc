// Package event defines the immutable events that probes publish and the
// collector consumes: a versioned envelope and its binary encoding.
//
// Events are the source of truth (DESIGN.md, "Events"): CDRs, KPIs and rated
// amounts are projections that can be rebuilt from them. A SIP event therefore
// carries the raw message bytes plus only the few fields needed to route it;
// everything else is derived downstream so that a better parser can rebuild
// history by replay.
//
// # Wire format (version 1)
//
//	magic 'T' | version u8 | kind u8 | fields...
//	field = tag u8 | length uvarint | value[length]
//
// Fields are tagged so that a newer producer can add fields that an older
// consumer skips; a consumer refuses a higher envelope version outright
// (ErrVersion) rather than silently misreading it. Integers inside fields are
// big-endian fixed width; addresses are netip's binary form.
//
// Encoding appends to a caller-owned buffer and decoding aliases the input
// (the VictoriaMetrics and kbin style), so the probe's hot path allocates
// nothing per event.
package event
