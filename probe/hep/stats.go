package hep

import "sync/atomic"

// Stats counts what a Server received and why it rejected what it did. The
// fields are atomic: read them at any time while the server runs. Per-packet
// faults are counted here, never logged or returned (STYLE.md §6).
//
// Received = Accepted + the sum of Rejected, once every packet in flight has
// been handled.
type Stats struct {
	// Received counts packets read: UDP datagrams and TCP frames.
	Received atomic.Uint64
	UDP      atomic.Uint64
	TCP      atomic.Uint64
	// V1, V2 and V3 count decoded packets by HEP version.
	V1, V2, V3 atomic.Uint64
	// Accepted counts packets handed to the handler.
	Accepted atomic.Uint64
	// Rejected counts packets dropped, by reason: the decode errors, and
	// ReasonAuth for a missing or wrong auth key. Rejected[ReasonTooLarge]
	// are oversized (inflated payloads over MaxPayload),
	// Rejected[ReasonGzip] compressed payloads that do not inflate.
	Rejected [NumReasons]atomic.Uint64
	// HandlerErrors counts packets the handler returned an error for.
	HandlerErrors atomic.Uint64

	// TCPConns counts TCP connections accepted; TCPOpen is the number open
	// now.
	TCPConns atomic.Uint64
	TCPOpen  atomic.Int64
	// TCPRejected counts connections closed on arrival, over MaxTCPConns.
	TCPRejected atomic.Uint64
	// TCPGarbage counts connections closed for sending bytes that are not
	// HEP3 frames (not "HEP3", or a length below 6); the frame is also
	// counted in Rejected.
	TCPGarbage atomic.Uint64
	// TCPTimeouts counts connections closed after ReadTimeout of silence.
	TCPTimeouts atomic.Uint64
	// TCPUnfinished counts connections that ended in the middle of a frame.
	TCPUnfinished atomic.Uint64
}

// Counter is one named count, for printing or export as a metric.
type Counter struct {
	Name  string
	Value uint64
}

// Counters lists every counter, zero or not, in a fixed order. Names are
// snake_case, fit for a metric (trunkscope_hep_<name>).
func (s *Stats) Counters() []Counter {
	out := []Counter{
		{"received", s.Received.Load()},
		{"received_udp", s.UDP.Load()},
		{"received_tcp", s.TCP.Load()},
		{"version_1", s.V1.Load()},
		{"version_2", s.V2.Load()},
		{"version_3", s.V3.Load()},
		{"accepted", s.Accepted.Load()},
	}
	for r := ReasonNone + 1; r < NumReasons; r++ {
		if r == ReasonNotSIP {
			continue // a ToSIP result, never a Server rejection
		}
		out = append(out, Counter{"rejected_" + r.String(), s.Rejected[r].Load()})
	}
	return append(out,
		Counter{"handler_errors", s.HandlerErrors.Load()},
		Counter{"tcp_conns", s.TCPConns.Load()},
		Counter{"tcp_open", uint64(max(s.TCPOpen.Load(), 0))},
		Counter{"tcp_rejected", s.TCPRejected.Load()},
		Counter{"tcp_garbage", s.TCPGarbage.Load()},
		Counter{"tcp_timeouts", s.TCPTimeouts.Load()},
		Counter{"tcp_unfinished", s.TCPUnfinished.Load()},
	)
}
