package hep

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// wantSIP is the event ToSIP should make of p carrying msg.
func wantSIP(p *Packet, probeID string, tr event.Transport, method string, status uint16, cseq uint32) event.SIP {
	return event.SIP{
		Header:        event.Header{Version: event.Version, ProbeID: []byte(probeID), TimeUS: p.TimeUS},
		Src:           p.Src,
		Dst:           p.Dst,
		Transport:     tr,
		CallID:        []byte(callID),
		Method:        []byte(method),
		Status:        status,
		CSeqNum:       cseq,
		CorrelationID: p.CorrelationID,
		CaptureID:     p.CaptureID,
		Node:          p.Node,
		Flags:         event.FlagHEP,
		Raw:           p.Payload,
	}
}

// equalSIP compares events through their encoding, which covers every
// field; nil and empty slices encode alike.
func equalSIP(a, b *event.SIP) bool {
	return bytes.Equal(event.AppendSIP(nil, a), event.AppendSIP(nil, b))
}

func TestToSIP(t *testing.T) {
	probe := []byte("hep-1")
	tcp := sipPacket(ok200)
	tcp.IPProto = 6
	for _, tc := range []struct {
		name string
		p    *Packet
		want event.SIP
	}{
		{"INVITE", sipPacket(invite), wantSIP(sipPacket(invite), "hep-1", event.TransportUDP, "INVITE", 0, 314159)},
		{"200 over TCP", tcp, wantSIP(tcp, "hep-1", event.TransportTCP, "INVITE", 200, 314159)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev event.SIP
			ev.Flags = event.FlagRetransmission // stale state must not survive
			ev.ID[0] = 1
			if err := ToSIP(tc.p, probe, &ev); err != nil {
				t.Fatal(err)
			}
			if !equalSIP(&ev, &tc.want) {
				t.Errorf("got  %+v\nwant %+v", ev, tc.want)
			}
		})
	}
}

func TestToSIPTrimsToContentLength(t *testing.T) {
	p := sipPacket(append(bytes.Clone(ok200), "\x00\x00junk"...))
	var ev event.SIP
	if err := ToSIP(p, nil, &ev); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ev.Raw, ok200) {
		t.Errorf("Raw %q", ev.Raw)
	}
}

func TestToSIPErrors(t *testing.T) {
	var ev event.SIP
	for _, tc := range []struct {
		name string
		p    *Packet
		err  error
	}{
		{"RTCP JSON", &Packet{ProtoType: ProtoRTCPJSON, Payload: []byte("{}")}, ErrNotSIP},
		{"log", &Packet{ProtoType: ProtoLog, Payload: invite}, ErrNotSIP},
		{"type 0", &Packet{Payload: invite}, ErrNotSIP},
		{"empty payload", &Packet{ProtoType: ProtoSIP}, sipscan.ErrNotSIP},
		{"no Call-ID", &Packet{ProtoType: ProtoSIP, Payload: crlf("OPTIONS sip:x SIP/2.0", "CSeq: 1 OPTIONS", "", "")}, sipscan.ErrBadCallID},
	} {
		if err := ToSIP(tc.p, nil, &ev); err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestTransport(t *testing.T) {
	for proto, want := range map[uint8]event.Transport{
		17: event.TransportUDP, 6: event.TransportTCP, 22: event.TransportTLS, 132: event.TransportSCTP, 0: event.TransportUnknown, 50: event.TransportUnknown,
	} {
		if got := transport(proto); got != want {
			t.Errorf("transport(%d) = %v, want %v", proto, got, want)
		}
	}
}

func TestToSIPAllocs(t *testing.T) {
	in := mustAppend(t, sipPacket(invite))
	var (
		d     Decoder
		p     Packet
		ev    event.SIP
		probe = []byte("hep-1")
		ids   = event.NewIDHasher()
		out   = make([]byte, 0, 4096)
	)
	n := testing.AllocsPerRun(1000, func() {
		if err := d.Decode(in, &p); err != nil {
			t.Fatal(err)
		}
		if err := ToSIP(&p, probe, &ev); err != nil {
			t.Fatal(err)
		}
		ids.SetID(&ev)
		out = event.AppendSIP(out[:0], &ev)
	})
	if n != 0 {
		t.Errorf("%v allocs per packet (decode, ToSIP, SetID, AppendSIP), want 0", n)
	}
	if ev.Src != netip.MustParseAddrPort("192.0.2.10:5060") {
		t.Errorf("Src %v", ev.Src)
	}
}
