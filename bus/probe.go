package bus

import (
	"net/netip"

	"github.com/trunkscope/trunkscope/event"
)

// OptionsPing encodes p and queues it on the probe topic, keyed by trunk.
func (p *Producer) OptionsPing(ev *event.OptionsPing) error {
	return p.enqueue(p.topics.Probe, ev.Trunk, netip.AddrPort{}, func(b []byte) []byte { return event.AppendOptionsPing(b, ev) })
}

// TestCall encodes c and queues it on the probe topic, keyed by trunk.
func (p *Producer) TestCall(ev *event.TestCall) error {
	return p.enqueue(p.topics.Probe, ev.Trunk, netip.AddrPort{}, func(b []byte) []byte { return event.AppendTestCall(b, ev) })
}
