package rtcp

import (
	"errors"
	"testing"
)

// The JSON below follows each sender's format string or struct tags
// (field order and spacing as they produce it); the values are ours.

// heplify (protos/rtcp.go) marshals its RTCP_Packet struct: an SR+SDES
// compound ends with "type" 202 and carries the SR in sender_information;
// report_blocks_xr is always present, zero when there was no XR.
const heplifySR = `{"sender_information":{"ntp_timestamp_sec":3899284000,"ntp_timestamp_usec":2147483648,"rtp_timestamp":160000,"packets":500,"octets":80000},` +
	`"ssrc":286331153,"type":202,"report_count":1,` +
	`"report_blocks":[{"source_ssrc":572662306,"fraction_lost":12,"packets_lost":16777214,"highest_seq_no":65552,"ia_jitter":37,"lsr":305419896,"dlsr":65536}],` +
	`"report_blocks_xr":{"type":0,"id":0,"fraction_lost":0,"fraction_discard":0,"burst_density":0,"gap_density":0,"burst_duration":0,"gap_duration":0,"round_trip_delay":0,"end_system_delay":0},` +
	`"sdes_ssrc":286331153}`

const heplifyXR = `{"sender_information":{"ntp_timestamp_sec":0,"ntp_timestamp_usec":0,"rtp_timestamp":0,"packets":0,"octets":0},` +
	`"ssrc":858993459,"type":207,"report_count":0,"report_blocks":null,` +
	`"report_blocks_xr":{"type":7,"id":286331153,"fraction_lost":13,"fraction_discard":5,"burst_density":64,"gap_density":2,"burst_duration":120,"gap_duration":4000,"round_trip_delay":85,"end_system_delay":60},` +
	`"sdes_ssrc":0}`

// rtpengine (daemon/rtcp.c homer_*): an RR with SDES; trailing commas are
// trimmed by its str_sanitize.
const rtpengineRR = `{ "ssrc":858993459,"type":201,"report_count":1,"report_blocks":[{"source_ssrc":286331153,"highest_seq_no":70000,"fraction_lost":255,"ia_jitter":800,"packets_lost":8388607,"lsr":0,"dlsr":0}],` +
	`"sdes_report_count":1,"sdes_information": [ {"sdes_chunk_ssrc":858993459,"type":1,"text":"bob@10.0.0.2"},{"sdes_chunk_ssrc":858993459,"type":6,"text":"rtpengine"}] }`

// captagent (rtcp_parser.h) sends the whole VoIP Metrics block.
const captagentXR = `{"type":207,"ssrc":858993459,"extended_report_information":{"type":7, "identifier":286331153, "loss_rate":13, "discard_rate":5, "burst_rate":64, "gap_rate":2, ` +
	`"burst_duration":120, "gap_duration":4000, "round_trip_delay":85, "end_sys_delay":60, "signal_lev":-20, "noise_lev":-75, "RERL":127, "Gmin":16, "R_fact":88, "ext_R_fact":127, ` +
	`"MOS_LQ":42, "MOS_CQ":41, "RX_conf":[{"PLC":3, "JB_adapt":3, "JB_rate":7}], "JB_nom":40, "JB_max":80, "JB_abs_max":200}}`

// hepgen.js's example: numbers as strings, the RTP timestamp negative.
const hepgenSR = `{"type":200,"ssrc":1814766290,"report_count":0,"report_blocks":[],"sender_information":{"packets":2,"ntp_timestamp_sec":"3373905459","ntp_timestamp_usec":"4280379832","rtp_timestamp":-210833031,"octets":40}} `

func TestParseJSON(t *testing.T) {
	var c Compound
	if err := ParseJSON([]byte(heplifySR), &c); err != nil {
		t.Fatal(err)
	}
	if c.NSenders != 1 || c.Senders[0] != (SenderInfo{SSRC: 0x11111111, NTP: 3899284000<<32 | 2147483648, RTPTime: 160000, Packets: 500, Octets: 80000}) {
		t.Errorf("heplify SR sender: %+v", c.Senders[0])
	}
	if c.NReports != 1 || c.Reports[0] != (ReportBlock{Reporter: 0x11111111, SSRC: 0x22222222, FractionLost: 12, CumulativeLost: -2, ExtHighestSeq: 65552, Jitter: 37, LSR: 0x12345678, DLSR: 65536}) {
		t.Errorf("heplify SR block: %+v", c.Reports[0])
	}
	if c.NVoIP != 0 || c.HasCNAME || c.HasBye {
		t.Errorf("heplify SR extras: %+v", c)
	}

	if err := ParseJSON([]byte(heplifyXR), &c); err != nil {
		t.Fatal(err)
	}
	if c.NSenders != 0 || c.NReports != 0 || c.NVoIP != 1 {
		t.Fatalf("heplify XR: %+v", c)
	}
	if v := c.VoIP[0]; v.Reporter != 0x33333333 || v.SSRC != 0x11111111 || v.LossRate != 13 || v.DiscardRate != 5 || v.BurstDensity != 64 ||
		v.GapDensity != 2 || v.BurstDuration != 120 || v.GapDuration != 4000 || v.RoundTripDelay != 85 || v.EndSystemDelay != 60 || v.MOSLQ != 127 || v.RFactor != 127 {
		t.Errorf("heplify XR block: %+v", v)
	}

	if err := ParseJSON([]byte(rtpengineRR), &c); err != nil {
		t.Fatal(err)
	}
	if c.NSenders != 0 || c.NReports != 1 || c.Reports[0].CumulativeLost != 0x7fffff || c.Reports[0].FractionLost != 255 || c.Reports[0].Reporter != 0x33333333 {
		t.Errorf("rtpengine RR: %+v", c.Reports[0])
	}
	if !c.HasCNAME || string(c.CNAME()) != "bob@10.0.0.2" || c.CNAMESSRC != 0x33333333 {
		t.Errorf("rtpengine CNAME %q %x", c.CNAME(), c.CNAMESSRC)
	}

	if err := ParseJSON([]byte(captagentXR), &c); err != nil {
		t.Fatal(err)
	}
	// The same block as the binary one in TestParseCompound.
	want := VoIPMetrics{Reporter: 0x33333333, SSRC: 0x11111111, LossRate: 13, DiscardRate: 5, BurstDensity: 64, GapDensity: 2,
		BurstDuration: 120, GapDuration: 4000, RoundTripDelay: 85, EndSystemDelay: 60, SignalLevel: -20, NoiseLevel: -75,
		RERL: 127, Gmin: 16, RFactor: 88, ExtRFactor: 127, MOSLQ: 42, MOSCQ: 41, RXConfig: 0xf7, JBNominal: 40, JBMax: 80, JBAbsMax: 200}
	var bin Compound
	if err := Parse(xrPacket(), &bin); err != nil {
		t.Fatal(err)
	}
	if c.NVoIP != 1 || c.VoIP[0] != want || bin.VoIP[0] != want {
		t.Errorf("captagent XR\n got %+v\nwant %+v", c.VoIP[0], want)
	}

	if err := ParseJSON([]byte(hepgenSR), &c); err != nil {
		t.Fatal(err)
	}
	if s := c.Senders[0]; c.NSenders != 1 || s.SSRC != 1814766290 || s.NTP != 3373905459<<32|4280379832 || s.RTPTime != uint32(0xffffffff-210833031+1) || s.Packets != 2 || s.Octets != 40 {
		t.Errorf("hepgen SR: %+v", s)
	}
}

func TestParseJSONErrors(t *testing.T) {
	for _, in := range []string{``, `{`, `[1,2]`, `{}`, `{"foo":1}`, `{"ssrc":"x1"}`, `{"report_blocks":{}}`} {
		var c Compound
		if err := ParseJSON([]byte(in), &c); !errors.Is(err, ErrJSON) {
			t.Errorf("%q: %v", in, err)
		}
	}
	// A BYE announced only by its type.
	var c Compound
	if err := ParseJSON([]byte(`{"type":203,"ssrc":5}`), &c); err != nil || !c.HasBye || c.Bye[0] != 5 {
		t.Errorf("BYE: %v %+v", err, c)
	}
}
