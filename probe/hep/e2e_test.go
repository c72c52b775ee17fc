package hep

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"

	"github.com/trunkscope/trunkscope/event"
)

// TestEndToEnd sends an INVITE with SDP and its 200 OK as HEP v3 over UDP,
// HEP v3 over TCP and HEP v2 over UDP to a Server, converts what arrives
// with ToSIP as the probe will, and checks the events after an encode and
// decode round trip through the event codec.
func TestEndToEnd(t *testing.T) {
	var (
		mu     sync.Mutex
		ids    = event.NewIDHasher() // not safe for concurrent use: under mu
		events = map[int64][]byte{}  // encoded events by capture time
		probe  = []byte("hep-e2e")
	)
	h := func(p *Packet) error {
		var ev event.SIP
		if err := ToSIP(p, probe, &ev); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		ids.SetID(&ev)
		events[ev.TimeUS] = event.AppendSIP(nil, &ev)
		return nil
	}
	s := serve(t, h)

	// Every packet gets its own time, so that arrivals, which UDP and TCP
	// may interleave, can be matched to what was sent.
	type sent struct {
		p         *Packet
		transport event.Transport
		method    string
		status    uint16
	}
	var all []sent
	pkt := func(version, ipProto uint8, msg []byte, src, dst netip.AddrPort) *Packet {
		p := &Packet{
			Version: version, IPProto: ipProto, ProtoType: ProtoSIP, Src: src, Dst: dst,
			TimeUS: 1_700_000_000_000_000 + int64(len(all))*1_000_001, CaptureID: 2001,
			CorrelationID: []byte("corr-e2e"), Node: []byte("kam-1"), Payload: msg,
		}
		if version == 2 {
			p.CorrelationID, p.Node = nil, nil // v2 has no room for them
		}
		tr := event.TransportUDP
		if ipProto == 6 {
			tr = event.TransportTCP
		}
		s := sent{p, tr, "INVITE", 0}
		if bytes.HasPrefix(msg, []byte("SIP/2.0 ")) {
			s.status = 200
		}
		all = append(all, s)
		return p
	}

	// HEP v3 over UDP, IPv4.
	sendUDP(t, s,
		mustAppend(t, pkt(3, 17, invite, pbx, trunk)),
		mustAppend(t, pkt(3, 17, ok200, trunk, pbx)))
	// HEP v3 over TCP, IPv6 addresses inside, both frames in one write.
	c := dialTCP(t, s)
	c.Write(append(mustAppend(t, pkt(3, 6, invite, pbx6, trk6)), mustAppend(t, pkt(3, 6, ok200, trk6, pbx6))...))
	// HEP v2 over UDP.
	sendUDP(t, s,
		mustAppendV2(t, pkt(2, 17, invite, pbx, trunk)),
		mustAppendV2(t, pkt(2, 17, ok200, trunk, pbx)))

	eventually(t, "6 events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) == len(all)
	})
	for _, x := range all {
		var got event.SIP
		mu.Lock()
		b := events[x.p.TimeUS]
		mu.Unlock()
		if err := event.DecodeSIP(b, &got); err != nil {
			t.Fatalf("event at %d: %v", x.p.TimeUS, err)
		}
		want := event.SIP{
			Header:        event.Header{Version: event.Version, ID: got.ID, ProbeID: probe, TimeUS: x.p.TimeUS},
			Src:           x.p.Src,
			Dst:           x.p.Dst,
			Transport:     x.transport,
			CallID:        []byte(callID),
			Method:        []byte(x.method),
			Status:        x.status,
			CSeqNum:       314159,
			CorrelationID: x.p.CorrelationID,
			CaptureID:     2001,
			Node:          x.p.Node,
			Flags:         event.FlagHEP,
			Raw:           x.p.Payload,
		}
		if !equalSIP(&got, &want) {
			t.Errorf("v%d %v %s %d:\n got  %+v\nwant %+v", x.p.Version, x.transport, x.method, x.status, got, want)
		}
		if got.ID == (event.ID{}) {
			t.Error("event without ID")
		}
	}
	st := s.Stats()
	if st.V3.Load() != 4 || st.V2.Load() != 2 || st.HandlerErrors.Load() != 0 || st.TCP.Load() != 2 {
		t.Errorf("stats %v", st.Counters())
	}
}
