package rtcp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ParseJSON reads the JSON that HEP senders put in a protocol-type-5
// (RTCP) HEP packet into c, the same struct Parse fills. The HEP3 payload
// of type 5 is not the RTCP bytes but the sender's JSON rendering of them;
// three shapes are in the wild, and all three are read:
//
//   - heplify (protos/rtcp.go): one object per compound with "type"
//     (the last packet's type), "ssrc", "report_count",
//     "sender_information" {ntp_timestamp_sec, ntp_timestamp_usec (the
//     NTP fraction, despite the name), rtp_timestamp, packets, octets},
//     "report_blocks" [{source_ssrc, fraction_lost, packets_lost (the raw
//     24-bit field), highest_seq_no, ia_jitter, lsr, dlsr}],
//     "report_blocks_xr" {type, id, fraction_lost, fraction_discard,
//     burst_density, gap_density, burst_duration, gap_duration,
//     round_trip_delay, end_system_delay} and "sdes_ssrc";
//   - rtpengine (daemon/rtcp.c, homer_*): the same SR/RR fields, plus
//     "sdes_information" [{sdes_chunk_ssrc, type, text}];
//   - captagent's RTCP parser (rtcp_parser.h) and the C decoders derived
//     from it (rtcp.h, EXTENDED_REPORT_JSON): the same SR/RR fields, and
//     the whole VoIP Metrics block as "extended_report_information"
//     {type, identifier,
//     loss_rate, discard_rate, burst_rate, gap_rate, ..., MOS_LQ, MOS_CQ,
//     RX_conf [{PLC, JB_adapt, JB_rate}], JB_nom, JB_max, JB_abs_max}.
//
// Numbers may come as JSON numbers or as strings of digits, and 32-bit
// fields as negative numbers (hepgen.js sends "rtp_timestamp":-210833031):
// each is taken modulo 2^32. A "packets_lost" in 0x800000-0xFFFFFF is the
// raw 24-bit field and is sign-extended (RFC 3550 §6.4.1). Unlike Parse,
// ParseJSON allocates (encoding/json); HEP RTCP is a few packets per call
// every few seconds.
func ParseJSON(b []byte, c *Compound) error {
	c.reset()
	var j hepJSON
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("%w: %v", ErrJSON, err)
	}
	found := false
	if si := j.Sender; si != nil && (j.Type == TypeSR || si.NTPSec != 0 || si.NTPFrac != 0 || si.Packets != 0 || si.Octets != 0) {
		found = true
		c.Senders[0] = SenderInfo{
			SSRC:    j.SSRC.u32(),
			NTP:     uint64(si.NTPSec.u32())<<32 | uint64(si.NTPFrac.u32()),
			RTPTime: si.RTP.u32(),
			Packets: si.Packets.u32(),
			Octets:  si.Octets.u32(),
		}
		c.NSenders = 1
	}
	for _, rb := range j.Reports {
		found = true
		if c.NReports == MaxReports {
			c.Dropped++
			continue
		}
		lost := int64(rb.PacketsLost)
		if lost >= 0x800000 && lost <= 0xffffff {
			lost -= 0x1000000
		}
		c.Reports[c.NReports] = ReportBlock{
			Reporter:       j.SSRC.u32(),
			SSRC:           rb.SourceSSRC.u32(),
			FractionLost:   uint8(rb.FractionLost),
			CumulativeLost: int32(lost),
			ExtHighestSeq:  rb.HighestSeq.u32(),
			Jitter:         rb.Jitter.u32(),
			LSR:            rb.LSR.u32(),
			DLSR:           rb.DLSR.u32(),
		}
		c.NReports++
	}
	if x := j.XR; x != nil && x.Type == 7 {
		found = true
		c.addVoIP(VoIPMetrics{
			Reporter: j.SSRC.u32(), SSRC: x.ID.u32(),
			LossRate: uint8(x.FractionLost), DiscardRate: uint8(x.FractionDiscard),
			BurstDensity: uint8(x.BurstDensity), GapDensity: uint8(x.GapDensity),
			BurstDuration: uint16(x.BurstDuration), GapDuration: uint16(x.GapDuration),
			RoundTripDelay: uint16(x.RoundTripDelay), EndSystemDelay: uint16(x.EndSystemDelay),
			// heplify does not send the rest: mark them unavailable
			// (RFC 3611 §4.7.4-4.7.6).
			SignalLevel: 127, NoiseLevel: 127, RERL: 127, RFactor: 127, ExtRFactor: 127, MOSLQ: 127, MOSCQ: 127,
		})
	}
	if x := j.XRInfo; x != nil && x.Type == 7 {
		found = true
		v := VoIPMetrics{
			Reporter: j.SSRC.u32(), SSRC: x.ID.u32(),
			LossRate: uint8(x.LossRate), DiscardRate: uint8(x.DiscardRate),
			BurstDensity: uint8(x.BurstRate), GapDensity: uint8(x.GapRate),
			BurstDuration: uint16(x.BurstDuration), GapDuration: uint16(x.GapDuration),
			RoundTripDelay: uint16(x.RoundTripDelay), EndSystemDelay: uint16(x.EndSysDelay),
			SignalLevel: int8(x.SignalLev), NoiseLevel: int8(x.NoiseLev),
			RERL: uint8(x.RERL), Gmin: uint8(x.Gmin),
			RFactor: uint8(x.RFact), ExtRFactor: uint8(x.ExtRFact),
			MOSLQ: uint8(x.MOSLQ), MOSCQ: uint8(x.MOSCQ),
			JBNominal: uint16(x.JBNom), JBMax: uint16(x.JBMax), JBAbsMax: uint16(x.JBAbsMax),
		}
		if len(x.RXConf) > 0 {
			r := x.RXConf[0]
			v.RXConfig = uint8(r.PLC&3)<<6 | uint8(r.JBAdapt&3)<<4 | uint8(r.JBRate&0x0f)
		}
		c.addVoIP(v)
	}
	for _, it := range j.SDES {
		found = true
		if it.Type == 1 && !c.HasCNAME {
			src := j.SDESSSRC
			if it.ChunkSSRC != nil {
				src = *it.ChunkSSRC
			}
			n := copy(c.CNAMEBuf[:], it.Text)
			c.HasCNAME, c.CNAMESSRC, c.CNAMELen = true, src.u32(), uint8(n)
		}
	}
	if j.Type == TypeBYE {
		found, c.HasBye = true, true
		c.Bye[0], c.NBye = j.SSRC.u32(), 1
	}
	if !found && j.Type == 0 && j.SDESSSRC == 0 {
		return fmt.Errorf("%w: no RTCP fields", ErrJSON)
	}
	c.Packets = 1
	return nil
}

func (c *Compound) addVoIP(v VoIPMetrics) {
	if c.NVoIP == MaxVoIP {
		c.Dropped++
		return
	}
	c.VoIP[c.NVoIP] = v
	c.NVoIP++
}

// hepJSON is the union of the three senders' shapes.
type hepJSON struct {
	Type   num `json:"type"`
	SSRC   num `json:"ssrc"`
	Sender *struct {
		NTPSec  num `json:"ntp_timestamp_sec"`
		NTPFrac num `json:"ntp_timestamp_usec"`
		RTP     num `json:"rtp_timestamp"`
		Packets num `json:"packets"`
		Octets  num `json:"octets"`
	} `json:"sender_information"`
	Reports []struct {
		SourceSSRC   num `json:"source_ssrc"`
		FractionLost num `json:"fraction_lost"`
		PacketsLost  num `json:"packets_lost"`
		HighestSeq   num `json:"highest_seq_no"`
		Jitter       num `json:"ia_jitter"`
		LSR          num `json:"lsr"`
		DLSR         num `json:"dlsr"`
	} `json:"report_blocks"`
	XR *struct {
		Type            num `json:"type"`
		ID              num `json:"id"`
		FractionLost    num `json:"fraction_lost"`
		FractionDiscard num `json:"fraction_discard"`
		BurstDensity    num `json:"burst_density"`
		GapDensity      num `json:"gap_density"`
		BurstDuration   num `json:"burst_duration"`
		GapDuration     num `json:"gap_duration"`
		RoundTripDelay  num `json:"round_trip_delay"`
		EndSystemDelay  num `json:"end_system_delay"`
	} `json:"report_blocks_xr"`
	XRInfo *struct {
		Type           num `json:"type"`
		ID             num `json:"identifier"`
		LossRate       num `json:"loss_rate"`
		DiscardRate    num `json:"discard_rate"`
		BurstRate      num `json:"burst_rate"`
		GapRate        num `json:"gap_rate"`
		BurstDuration  num `json:"burst_duration"`
		GapDuration    num `json:"gap_duration"`
		RoundTripDelay num `json:"round_trip_delay"`
		EndSysDelay    num `json:"end_sys_delay"`
		SignalLev      num `json:"signal_lev"`
		NoiseLev       num `json:"noise_lev"`
		RERL           num `json:"RERL"`
		Gmin           num `json:"Gmin"`
		RFact          num `json:"R_fact"`
		ExtRFact       num `json:"ext_R_fact"`
		MOSLQ          num `json:"MOS_LQ"`
		MOSCQ          num `json:"MOS_CQ"`
		RXConf         []struct {
			PLC     num `json:"PLC"`
			JBAdapt num `json:"JB_adapt"`
			JBRate  num `json:"JB_rate"`
		} `json:"RX_conf"`
		JBNom    num `json:"JB_nom"`
		JBMax    num `json:"JB_max"`
		JBAbsMax num `json:"JB_abs_max"`
	} `json:"extended_report_information"`
	SDESSSRC num `json:"sdes_ssrc"`
	SDES     []struct {
		ChunkSSRC *num   `json:"sdes_chunk_ssrc"`
		Type      num    `json:"type"`
		Text      string `json:"text"`
	} `json:"sdes_information"`
}

// num is a JSON integer that may also come quoted, or as a float with no
// fraction worth keeping.
type num int64

func (n *num) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = num(v)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || f > 1<<63-1 || f < -1<<63 {
		return fmt.Errorf("not an integer: %.20q", b)
	}
	*n = num(f)
	return nil
}

// u32 is n modulo 2^32: 32-bit fields sent as negative numbers come back
// as their two's-complement value.
func (n num) u32() uint32 { return uint32(n) }
