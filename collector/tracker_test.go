package collector

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/event"
)

var (
	us     = netip.MustParseAddrPort("10.0.0.10:5060")
	them   = netip.MustParseAddrPort("198.51.100.10:5060")
	timers = Timers{Invite: 32 * time.Second, Proceeding: 3 * time.Minute, MaxDuration: time.Hour, Linger: 32 * time.Second}
)

func testTrunks() *Trunks {
	return NewTrunks([]config.Trunk{{Name: "carrier-a", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}}},
		config.Numbering{Country: "31", NationalPrefix: "0", InternationalPrefix: "00"})
}

// step is one message of a flow: at ms after the call start, from us (out)
// or from the trunk (in), a request method or a response code, with CSeq.
type step struct {
	ms     int64
	out    bool
	method string
	code   uint16
	cseq   uint32
	toTag  bool
}

func sipEvent(callID string, s step) *event.SIP {
	ev := &event.SIP{CallID: []byte(callID), CSeqNum: s.cseq, Status: s.code}
	ev.TimeUS = 1767603600_000000 + s.ms*1000
	ev.Src, ev.Dst = them, us
	if s.out {
		ev.Src, ev.Dst = us, them
	}
	method := s.method
	to := "<sip:442071234567@198.51.100.10>"
	if s.toTag {
		to += ";tag=xyz"
	}
	start := fmt.Sprintf("%s sip:442071234567@198.51.100.10 SIP/2.0", method)
	if s.code != 0 {
		method = "INVITE"
		if s.method != "" {
			method = s.method
		}
		start = fmt.Sprintf("SIP/2.0 %d Reason", s.code)
	}
	ev.Method = []byte(method)
	ev.Raw = []byte(start + "\r\nVia: SIP/2.0/UDP 10.0.0.10;branch=z9hG4bK1\r\nFrom: <sip:31205550000@10.0.0.10>;tag=abc\r\nTo: " + to +
		"\r\nCall-ID: " + callID + fmt.Sprintf("\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n", s.cseq, method))
	return ev
}

func run(t *testing.T, flows map[string][]step, redeliver bool) map[string]CDR {
	t.Helper()
	tr := NewTracker(timers, testTrunks(), "X-CID")
	var off int64
	apply := func() {
		for id, flow := range flows {
			for _, s := range flow {
				tr.Apply(0, off, sipEvent(id, s))
				off++
			}
		}
	}
	apply()
	if redeliver {
		apply()
	}
	tr.CloseAll(0)
	got := map[string]CDR{}
	for _, c := range tr.TakeCDRs() {
		if _, dup := got[c.CallID]; dup && !redeliver {
			t.Fatalf("two CDRs for %s", c.CallID)
		}
		got[c.CallID] = c
	}
	return got
}

func TestFlows(t *testing.T) {
	inv := step{0, true, "INVITE", 0, 1, false}
	for _, tc := range []struct {
		name     string
		flow     []step
		outcome  Outcome
		code     uint16
		pdd, dur int64
		hangup   string
		flags    string
		endMs    int64
	}{
		{"answered, callee hangs up", []step{inv, {20, false, "", 100, 1, false}, {1500, false, "", 180, 1, true},
			{4000, false, "", 200, 1, true}, {4030, true, "ACK", 0, 1, true}, {64000, false, "BYE", 0, 1, true},
			{64020, true, "", 200, 1, true}}, Answered, 200, 1500, 60000, "callee", "", 64000},
		{"answered, caller hangs up", []step{inv, {1500, false, "", 183, 1, true}, {4000, false, "", 200, 1, true},
			{9000, true, "BYE", 0, 2, true}}, Answered, 200, 1500, 5000, "caller", "", 9000},
		{"answered without 18x", []step{inv, {700, false, "", 200, 1, true}, {9000, true, "BYE", 0, 2, true}},
			Answered, 200, 700, 8300, "caller", "pdd_to_2xx", 9000},
		{"busy", []step{inv, {20, false, "", 100, 1, false}, {900, false, "", 486, 1, true}, {920, true, "ACK", 0, 1, true}},
			Busy, 486, -1, 0, "", "", 900},
		{"503", []step{inv, {60, false, "", 503, 1, true}}, Rejected, 503, -1, 0, "", "", 60},
		{"received 408", []step{inv, {20, false, "", 100, 1, false}, {800, false, "", 180, 1, true}, {20800, false, "", 408, 1, true}},
			NoAnswer, 408, 800, 0, "", "", 20800},
		{"no response: timeout at Timer B", []step{inv, {500, true, "INVITE", 0, 1, false}, {1500, true, "INVITE", 0, 1, false}},
			Timeout, 0, -1, 0, "", "end_of_input", 32000},
		{"100 then silence: Timer C, not B", []step{inv, {20, false, "", 100, 1, false}},
			Timeout, 0, -1, 0, "", "end_of_input", 180020},
		{"cancelled", []step{inv, {1000, false, "", 180, 1, true}, {5000, true, "CANCEL", 0, 1, false},
			{5020, false, "CANCEL", 200, 1, false}, {5030, false, "", 487, 1, true}, {5040, true, "ACK", 0, 1, true}},
			Cancelled, 487, 1000, 0, "", "", 5030},
		{"407 challenge then answer is one attempt", []step{inv, {150, false, "", 407, 1, true}, {155, true, "ACK", 0, 1, true},
			{900, true, "INVITE", 0, 2, false}, {2000, false, "", 180, 2, true}, {3000, false, "", 200, 2, true},
			{10000, true, "BYE", 0, 3, true}}, Answered, 200, 2000, 7000, "caller", "", 10000},
		{"challenge never answered", []step{inv, {150, false, "", 401, 1, true}}, Rejected, 401, -1, 0, "", "", 150},
		{"retransmissions counted once", []step{inv, {500, true, "INVITE", 0, 1, false}, {600, false, "", 180, 1, true},
			{700, false, "", 180, 1, true}, {3000, false, "", 200, 1, true}, {3500, false, "", 200, 1, true},
			{8000, true, "BYE", 0, 2, true}, {8500, true, "BYE", 0, 2, true}}, Answered, 200, 600, 5000, "caller", "", 8000},
		{"re-INVITE is no new attempt", []step{inv, {600, false, "", 180, 1, true}, {1000, false, "", 200, 1, true},
			{5000, true, "INVITE", 0, 2, true}, {5050, false, "", 200, 2, true}, {9000, true, "BYE", 0, 3, true}},
			Answered, 200, 600, 8000, "caller", "", 9000},
		{"answered, no BYE in capture", []step{inv, {600, false, "", 180, 1, true}, {1000, false, "", 200, 1, true},
			{1030, true, "ACK", 0, 1, true}}, Answered, 200, 600, 30, "", "no_bye", 1030},
	} {
		for _, redeliver := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/redeliver=%v", tc.name, redeliver), func(t *testing.T) {
				got := run(t, map[string][]step{"c1": tc.flow}, redeliver)
				c, ok := got["c1"]
				if !ok {
					t.Fatal("no CDR")
				}
				start := int64(1767603600_000000)
				if c.Outcome != tc.outcome || c.FinalCode != tc.code || c.PDDMs != tc.pdd || c.DurationMs != tc.dur ||
					c.HangupBy != tc.hangup || c.FlagString() != tc.flags || c.EndUS != start+tc.endMs*1000 || c.StartUS != start {
					t.Fatalf("got outcome=%s code=%d pdd=%d dur=%d hangup=%q flags=%q end=+%dms",
						c.Outcome, c.FinalCode, c.PDDMs, c.DurationMs, c.HangupBy, c.FlagString(), (c.EndUS-start)/1000)
				}
				if c.Trunk != "carrier-a" || c.Direction != Outbound || c.Caller != "31205550000" || c.Callee != "442071234567" {
					t.Fatalf("leg fields %+v", c)
				}
			})
		}
	}
}

func TestOrphansAndNonCalls(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "X-CID")
	tr.Apply(0, 0, sipEvent("x", step{0, false, "", 200, 1, true}))
	tr.Apply(0, 1, sipEvent("y", step{0, true, "REGISTER", 0, 1, false}))
	tr.Apply(0, 2, sipEvent("z", step{0, true, "INVITE", 0, 5, true})) // re-INVITE of an unseen call
	tr.CloseAll(0)
	if n := len(tr.TakeCDRs()); n != 0 {
		t.Fatalf("%d CDRs from orphans", n)
	}
	if tr.Counts.Orphans != 2 || tr.Counts.NonCall != 1 {
		t.Fatalf("counts %+v", tr.Counts)
	}
}

func TestUnknownTrunkAndInbound(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "X-CID")
	ev := sipEvent("in", step{0, false, "INVITE", 0, 1, false}) // from the trunk: inbound
	tr.Apply(0, 0, ev)
	ev = sipEvent("nobody", step{0, true, "INVITE", 0, 1, false})
	ev.Dst = netip.MustParseAddrPort("192.0.2.99:5060")
	tr.Apply(0, 1, ev)
	tr.CloseAll(0)
	for _, c := range tr.TakeCDRs() {
		want := map[string][2]string{"in": {"carrier-a", Inbound}, "nobody": {"", Unknown}}[c.CallID]
		if c.Trunk != want[0] || c.Direction != want[1] {
			t.Errorf("%s: trunk %q direction %q, want %v", c.CallID, c.Trunk, c.Direction, want)
		}
	}
}

// The commit point never passes the first event of a dialog still open, so
// a restart re-reads every open call; closed calls do not hold it back.
func TestCommitPoint(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "X-CID")
	tr.Apply(3, 10, sipEvent("a", step{0, true, "INVITE", 0, 1, false}))
	tr.Apply(3, 11, sipEvent("b", step{100, true, "INVITE", 0, 1, false}))
	tr.Apply(3, 12, sipEvent("a", step{200, false, "", 486, 1, true}))
	if got := tr.CommitPoint(3); got != 11 {
		t.Fatalf("commit point %d, want 11 (b still open)", got)
	}
	tr.Apply(3, 13, sipEvent("b", step{300, false, "", 503, 1, true}))
	if got := tr.CommitPoint(3); got != 14 {
		t.Fatalf("commit point %d, want 14 (nothing open)", got)
	}
	if got := tr.CommitPoint(7); got != -1 {
		t.Fatalf("unseen partition: %d", got)
	}
}

// Timers run on each partition's own event-time clock: a partition far
// ahead must not time out a call on another partition.
func TestPartitionClocksIndependent(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "X-CID")
	tr.Apply(1, 0, sipEvent("late", step{0, true, "INVITE", 0, 1, false}))
	tr.Apply(2, 0, sipEvent("ahead", step{3_600_000, true, "REGISTER", 0, 1, false}))
	tr.Apply(1, 1, sipEvent("late", step{5000, false, "", 200, 1, true}))
	tr.Apply(1, 2, sipEvent("late", step{9000, true, "BYE", 0, 2, true}))
	cdrs := tr.TakeCDRs()
	if len(cdrs) != 1 || cdrs[0].Outcome != Answered {
		t.Fatalf("got %+v", cdrs)
	}
}

func TestClassifyTable(t *testing.T) {
	for _, tc := range []struct {
		answered  bool
		code      uint16
		cancelled bool
		want      Outcome
	}{
		{true, 200, false, Answered}, {false, 0, false, Timeout}, {false, 486, false, Busy}, {false, 600, false, Busy},
		{false, 487, true, Cancelled}, {false, 408, true, Cancelled}, {false, 408, false, NoAnswer},
		{false, 480, false, NoAnswer}, {false, 503, false, Rejected}, {false, 404, false, Rejected},
		{false, 302, false, Rejected}, {false, 603, false, Rejected},
	} {
		if got := classify(tc.answered, tc.code, tc.cancelled); got != tc.want {
			t.Errorf("classify(%v, %d, %v) = %s, want %s", tc.answered, tc.code, tc.cancelled, got, tc.want)
		}
	}
	if !strings.Contains(string(Timeout), "timeout") {
		t.Fatal("outcome names are part of the stored data")
	}
}

// Behind a proxy one Call-ID crosses two trunks: the customer's INVITE to
// us and ours to the carrier are two legs with their own trunk and timing.
func TestProxyTwoLegs(t *testing.T) {
	cust := netip.MustParseAddrPort("192.0.2.30:5060")
	trunks := NewTrunks([]config.Trunk{
		{Name: "carrier-a", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}},
		{Name: "customer-x", Prefixes: []netip.Prefix{netip.MustParsePrefix("192.0.2.30/32")}},
	}, config.Numbering{})
	tr := NewTracker(timers, trunks, "X-CID")
	hop := func(ms int64, src, dst netip.AddrPort, s step) *event.SIP {
		s.ms = ms
		ev := sipEvent("px", s)
		ev.Src, ev.Dst = src, dst
		return ev
	}
	seq := []*event.SIP{
		hop(0, cust, us, step{method: "INVITE", cseq: 1}),
		hop(10, us, cust, step{code: 100, cseq: 1}),
		hop(15, us, them, step{method: "INVITE", cseq: 1}),  // same CSeq, next hop: not a retransmission
		hop(500, us, them, step{method: "INVITE", cseq: 1}), // this one is
		hop(800, them, us, step{code: 180, cseq: 1, toTag: true}),
		hop(810, us, cust, step{code: 180, cseq: 1, toTag: true}),
		hop(3000, them, us, step{code: 200, cseq: 1, toTag: true}),
		hop(3010, us, cust, step{code: 200, cseq: 1, toTag: true}),
		hop(9000, cust, us, step{method: "BYE", cseq: 2, toTag: true}),
		hop(9010, us, them, step{method: "BYE", cseq: 2, toTag: true}),
	}
	for i, ev := range seq {
		tr.Apply(0, int64(i), ev)
	}
	cdrs := tr.TakeCDRs()
	if len(cdrs) != 2 {
		t.Fatalf("%d CDRs, want two legs: %+v", len(cdrs), cdrs)
	}
	byLeg := map[uint8]CDR{}
	for _, c := range cdrs {
		byLeg[c.Leg] = c
	}
	in, out := byLeg[0], byLeg[1]
	if in.Trunk != "customer-x" || in.Direction != Inbound || in.PDDMs != 810 || in.DurationMs != 5990 || in.HangupBy != "caller" {
		t.Errorf("customer leg %+v", in)
	}
	if out.Trunk != "carrier-a" || out.Direction != Outbound || out.PDDMs != 785 || out.DurationMs != 6010 || out.HangupBy != "caller" {
		t.Errorf("carrier leg %+v", out)
	}
	if tr.Counts.Retransmissions != 1 {
		t.Errorf("retransmissions %d, want 1", tr.Counts.Retransmissions)
	}
}

// The SBC's two legs have different Call-IDs; the X-CID header the SBC
// copies ties them. Numbers are normalised, the Reason of the BYE kept.
func TestLegFields(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "X-CID")
	inv := sipEvent("leg-b", step{0, true, "INVITE", 0, 1, false})
	inv.Raw = []byte(strings.Replace(string(inv.Raw), "Content-Length: 0", "X-CID: leg-a@sbc\r\nContent-Length: 0", 1))
	inv.Raw = []byte(strings.Replace(string(inv.Raw), "sip:31205550000@", "sip:0205550000@", 1))
	tr.Apply(0, 0, inv)
	tr.Apply(0, 1, sipEvent("leg-b", step{2000, false, "", 180, 1, true}))
	tr.Apply(0, 2, sipEvent("leg-b", step{7000, false, "", 200, 1, true}))
	bye := sipEvent("leg-b", step{9000, false, "BYE", 0, 1, true})
	bye.Raw = []byte(strings.Replace(string(bye.Raw), "Content-Length: 0", "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\nContent-Length: 0", 1))
	tr.Apply(0, 3, bye)
	cdrs := tr.TakeCDRs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs", len(cdrs))
	}
	c := cdrs[0]
	if c.Correlation != "leg-a@sbc" || c.CallerE164 != "31205550000" || c.Caller != "0205550000" ||
		c.CalleeE164 != "442071234567" || c.RingMs != 5000 || c.Reason != (Reason{"Q.850", 16, "Normal call clearing"}) {
		t.Fatalf("leg fields %+v", c)
	}
	if hop := sipEvent("x", step{}); hop.CorrelationID != nil {
		t.Fatal("helper sets no HEP correlation")
	}
	hep := sipEvent("leg-c", step{0, true, "INVITE", 0, 1, false})
	hep.CorrelationID = []byte("hep-corr-1")
	tr.Apply(0, 4, hep)
	tr.CloseAll(0)
	if c := tr.TakeCDRs(); len(c) != 1 || c[0].Correlation != "hep-corr-1" {
		t.Fatalf("HEP correlation not kept: %+v", c)
	}
}

// A duplicate copy of a closed call (a re-published capture) that reaches
// the lingering leg holds the commit point at the copy's first event, so a
// restart re-reads the whole copy.
func TestDuplicateCopyHoldsCommitPoint(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "")
	flow := []step{{0, true, "INVITE", 0, 1, false}, {500, true, "INVITE", 0, 1, false}, {900, false, "", 486, 1, true}}
	off := int64(0)
	for _, s := range flow {
		tr.Apply(0, off, sipEvent("d", s))
		off++
	}
	if got := tr.CommitPoint(0); got != 3 {
		t.Fatalf("commit point %d after the call closed, want 3", got)
	}
	tr.Apply(0, 10, sipEvent("d", flow[0])) // the copy begins
	tr.Apply(0, 11, sipEvent("d", flow[1]))
	if got := tr.CommitPoint(0); got != 10 {
		t.Fatalf("commit point %d during the copy, want 10", got)
	}
	if n := len(tr.TakeCDRs()); n != 1 {
		t.Fatalf("%d CDRs, want 1", n)
	}
}

// An INVITE the probe marked as a retransmission never starts a call.
func TestRetransmissionStartsNoCall(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "")
	ev := sipEvent("r", step{15500, true, "INVITE", 0, 1, false})
	ev.Flags = event.FlagRetransmission
	tr.Apply(0, 0, ev)
	tr.CloseAll(0)
	if n := len(tr.TakeCDRs()); n != 0 {
		t.Fatalf("%d CDRs from a retransmission", n)
	}
}

// A forked INVITE gets early dialogs from two branches (two To-tags): the
// leg rings at the first 18x of either and is answered by the first 2xx.
func TestForkedEarlyDialogs(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "")
	fork := func(ms int64, code uint16, tag string) *event.SIP {
		ev := sipEvent("fk", step{ms, false, "", code, 1, true})
		ev.Raw = []byte(strings.Replace(string(ev.Raw), ";tag=xyz", ";tag="+tag, 1))
		return ev
	}
	for i, ev := range []*event.SIP{
		sipEvent("fk", step{0, true, "INVITE", 0, 1, false}),
		fork(700, 180, "a"), fork(900, 183, "b"), fork(4000, 200, "b"),
		fork(4100, 486, "a"), // the other branch gives up after the answer
		sipEvent("fk", step{4200, true, "ACK", 0, 1, true}),
		sipEvent("fk", step{10000, true, "BYE", 0, 2, true}),
	} {
		tr.Apply(0, int64(i), ev)
	}
	cdrs := tr.TakeCDRs()
	if len(cdrs) != 1 {
		t.Fatalf("%d CDRs", len(cdrs))
	}
	if c := cdrs[0]; c.Outcome != Answered || c.PDDMs != 700 || c.DurationMs != 6000 || c.FinalCode != 200 {
		t.Fatalf("forked call %+v", c)
	}
}

// RFC 4028: an answered call whose session is not refreshed in time ends
// when the interval runs out; a BYE that still comes within the linger
// updates the same CDR.
func TestSessionTimerAndLateBYE(t *testing.T) {
	tr := NewTracker(timers, testTrunks(), "")
	ok := sipEvent("st", step{1000, false, "", 200, 1, true})
	ok.Raw = []byte(strings.Replace(string(ok.Raw), "Content-Length: 0", "Session-Expires: 90;refresher=uac\r\nContent-Length: 0", 1))
	tr.Apply(0, 0, sipEvent("st", step{0, true, "INVITE", 0, 1, false}))
	tr.Apply(0, 0, sipEvent("st", step{500, false, "", 180, 1, true}))
	tr.Apply(0, 1, ok)
	tr.Apply(0, 2, sipEvent("st", step{60000, true, "INVITE", 0, 2, true})) // refresh at 60 s
	tr.Apply(0, 3, sipEvent("other", step{152000, true, "REGISTER", 0, 1, false}))
	cdrs := tr.TakeCDRs()
	if len(cdrs) != 1 || cdrs[0].FlagString() != "session_expired" || cdrs[0].EndUS != 1767603600_000000+150_000_000 {
		t.Fatalf("after expiry: %+v", cdrs)
	}
	tr.Apply(0, 4, sipEvent("st", step{155000, false, "BYE", 0, 5, true}))
	cdrs = tr.TakeCDRs()
	if len(cdrs) != 1 || cdrs[0].FlagString() != "late_bye" || cdrs[0].HangupBy != "callee" || cdrs[0].DurationMs != 154000 ||
		cdrs[0].Version <= uint64(1767603600_000000+150_000_000) {
		t.Fatalf("late BYE must update the CDR: %+v", cdrs)
	}
}

func TestSessionExpiresHeader(t *testing.T) {
	for raw, want := range map[string]int64{
		"SIP/2.0 200 OK\r\nSession-Expires: 1800;refresher=uas\r\n\r\n": 1800,
		"SIP/2.0 200 OK\r\nx: 90\r\n\r\n":                               90,
		"SIP/2.0 200 OK\r\nSession-Expires: soon\r\n\r\n":               0,
		"SIP/2.0 200 OK\r\n\r\nSession-Expires: 5\r\n":                  0,
	} {
		if got := sessionExpires([]byte(raw)); got != want {
			t.Errorf("sessionExpires(%q) = %d, want %d", raw, got, want)
		}
	}
}

// A trunk restricted to a HEP sender matches only messages that sender
// mirrored.
func TestTrunkByHEPSender(t *testing.T) {
	trunks := NewTrunks([]config.Trunk{
		{Name: "via-sbc-1", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, HEPNodes: []string{"sbc-1"}},
		{Name: "via-sbc-2", Prefixes: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, HEPCaptureIDs: []uint32{2002}},
	}, config.Numbering{})
	for _, tc := range []struct {
		id   uint32
		node string
		want string
	}{{0, "sbc-1", "via-sbc-1"}, {2002, "", "via-sbc-2"}, {7, "other", ""}, {0, "", ""}} {
		if got, _ := trunks.Resolve(us, them, tc.id, tc.node); got != tc.want {
			t.Errorf("capture id %d node %q: trunk %q, want %q", tc.id, tc.node, got, tc.want)
		}
	}
}
