package collector

import (
	"net/netip"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/sdp"
)

// Timers bound how long the tracker waits, in event time.
type Timers struct {
	// Invite is how long an INVITE may go without a final response before
	// the attempt ends as a timeout (RFC 3261 Timer B, 64*T1 = 32 s).
	Invite time.Duration
	// Proceeding is how long an INVITE that got a provisional response
	// (even 100 Trying) may wait for its final one: RFC 3261 Timer B stops
	// at the first 1xx and proxies then apply Timer C (more than 3 min).
	Proceeding time.Duration
	// MaxDuration closes an answered call that never saw a BYE.
	MaxDuration time.Duration
	// Linger keeps a closed dialog so that retransmissions and late
	// responses are recognised instead of looking like new calls.
	Linger time.Duration
}

// dialog is the state of one call leg while its events arrive.
type dialog struct {
	cdr         CDR
	partition   int
	firstOffset int64
	caller      netip.AddrPort // the INVITE's sender
	from, to    netip.Addr     // the INVITE's hop: which leg a message belongs to
	attemptCSeq uint32
	inviteUS    int64 // latest INVITE of the attempt (a challenge restarts Timer B)
	provUS      int64 // first provisional response of the attempt
	finalUS     int64
	lastUS      int64
	challenged  bool
	// sessionUS is the session interval (RFC 4028) the 2xx agreed, 0 for
	// none; refreshUS the last refresh (the answer, a re-INVITE, UPDATE).
	sessionUS, refreshUS int64
	// timerClosed says a timer, not a message, ended the answered leg: a
	// BYE that still comes updates the CDR.
	timerClosed bool
	cancelled   bool
	byeEarly    bool
	closed      bool
	closedUS    int64
	// holdOffset, when >= 0, is the offset of the first event from this
	// leg's own past (time <= its close) that reached it after it closed: a
	// duplicate copy (a re-published capture, a producer retry). The commit
	// point stays there while the leg is kept, so a restart re-reads the
	// whole copy instead of resuming in its middle, where a retransmitted
	// INVITE would look like a new call.
	holdOffset int64
}

type partition struct {
	dialogs    map[string]legs
	nowUS      int64 // event-time watermark: the newest capture time seen
	sweptUS    int64
	lastOffset int64
}

// Tracker folds SIP events into dialogs and emits a CDR when a dialog
// closes. It is pure state: no I/O, driven by the collector loop, with event
// time (capture timestamps) as its clock so a replay decides exactly as live
// traffic did. Calls are keyed by Call-ID, and a Call-ID's events arrive in
// order on one partition, so each partition has its own dialogs and clock.
type Tracker struct {
	timers Timers
	trunks *Trunks
	parser *sip.Parser
	parts  map[int]*partition
	out    []CDR
	Counts TrackerCounts
	// corrHeader names the header tying an SBC's legs, "" for none.
	corrHeader string
	sdp        sdp.Session // scratch for codec extraction
}

// TrackerCounts are the tracker's counters.
type TrackerCounts struct {
	Events, Invites, Retransmissions, ReInvites, Orphans, ParseErrors, NonCall int64
	Opened, Closed, Evicted                                                    int64
}

// NewTracker returns an empty tracker. correlationHeader, when set, names
// the header that ties an SBC's legs into one call.
func NewTracker(t Timers, trunks *Trunks, correlationHeader string) *Tracker {
	return &Tracker{timers: t, trunks: trunks, parser: sip.NewParser(), parts: map[int]*partition{}, corrHeader: correlationHeader}
}

func (t *Tracker) part(p int) *partition {
	pt := t.parts[p]
	if pt == nil {
		pt = &partition{dialogs: map[string]legs{}, lastOffset: -1}
		t.parts[p] = pt
	}
	return pt
}

// Open returns the number of dialogs not yet closed.
func (t *Tracker) Open() int {
	n := 0
	for _, pt := range t.parts {
		for _, ls := range pt.dialogs {
			for _, d := range ls {
				if !d.closed {
					n++
				}
			}
		}
	}
	return n
}

// Apply folds one event, consumed from partition p at offset, into its
// dialog. Every rule is idempotent, so a redelivered event changes nothing.
func (t *Tracker) Apply(p int, offset int64, ev *event.SIP) {
	t.Counts.Events++
	pt := t.part(p)
	if offset > pt.lastOffset {
		pt.lastOffset = offset
	}
	if ev.TimeUS > pt.nowUS {
		pt.nowUS = ev.TimeUS
	}
	ls := pt.dialogs[string(ev.CallID)]
	var d *dialog
	if ev.IsRequest() {
		d = ls.request(ev.Src.Addr(), ev.Dst.Addr())
	} else {
		d = ls.response(ev.Src.Addr(), ev.Dst.Addr())
	}
	if d != nil && d.closed && ev.TimeUS <= d.closedUS && d.holdOffset < 0 {
		d.holdOffset = offset
	}
	if ev.IsRequest() {
		switch string(ev.Method) {
		case "INVITE":
			if fwd := ls.forward(ev.Src.Addr(), ev.Dst.Addr()); fwd != nil && fwd.closed && ev.TimeUS <= fwd.closedUS && fwd.holdOffset < 0 {
				fwd.holdOffset = offset
			}
			t.invite(pt, p, offset, ls, ev)
		case "CANCEL":
			if d != nil && !d.closed {
				d.cancelled = true
				d.reason(ev)
				d.touch(ev.TimeUS)
			}
		case "BYE":
			t.bye(d, ev)
		default:
			if d == nil {
				t.Counts.NonCall++ // REGISTER, OPTIONS, ACK of unseen calls...
			} else if !d.closed {
				d.lastUS = max(d.lastUS, ev.TimeUS)
				if string(ev.Method) == "UPDATE" {
					d.refreshUS = max(d.refreshUS, ev.TimeUS)
				}
			}
		}
	} else {
		t.response(d, ev)
	}
	if pt.nowUS-pt.sweptUS >= int64(time.Second/time.Microsecond) {
		t.sweep(pt, false, 0)
	}
}

// reason keeps the first Reason header among the messages that end a leg
// (CANCEL, BYE, final response): the one that says why.
func (d *dialog) reason(ev *event.SIP) {
	if d.cdr.Reason.Protocol == "" {
		d.cdr.Reason = parseReason(ev.Raw)
	}
}

func (d *dialog) touch(ts int64) {
	d.lastUS = max(d.lastUS, ts)
	d.cdr.Version = uint64(max(int64(d.cdr.Version), ts))
}

// legs are the call legs one Call-ID has on the wire: one per hop its
// INVITE takes. A proxy that forwards a call from a customer trunk to a
// carrier keeps the Call-ID, so the probe sees the INVITE twice, on two
// address pairs: two legs, each with its own trunk, outcome and timing.
type legs []*dialog

// forward returns the leg whose INVITE went from src to dst.
func (ls legs) forward(src, dst netip.Addr) *dialog {
	for _, d := range ls {
		if d.from == src && d.to == dst {
			return d
		}
	}
	return nil
}

// request returns the leg a request from src to dst belongs to: sent the
// INVITE's way (the caller's ACK, CANCEL, BYE) or back (the callee's BYE).
// A lone leg also takes requests on other address pairs (NAT, a
// multi-homed peer).
func (ls legs) request(src, dst netip.Addr) *dialog {
	if d := ls.forward(src, dst); d != nil {
		return d
	}
	if d := ls.forward(dst, src); d != nil {
		return d
	}
	if len(ls) == 1 {
		return ls[0]
	}
	return nil
}

// response returns the leg a response from src to dst answers: responses
// flow back along the INVITE's hop.
func (ls legs) response(src, dst netip.Addr) *dialog {
	if d := ls.forward(dst, src); d != nil {
		return d
	}
	if len(ls) == 1 {
		return ls[0]
	}
	return nil
}

func (t *Tracker) invite(pt *partition, p int, offset int64, ls legs, ev *event.SIP) {
	if d := ls.forward(ev.Src.Addr(), ev.Dst.Addr()); d != nil {
		switch {
		case ev.CSeqNum == d.attemptCSeq:
			t.Counts.Retransmissions++
		case ev.CSeqNum > d.attemptCSeq && d.challenged && !d.closed && d.cdr.AnswerUS == 0:
			// The INVITE re-sent with credentials after a 401/407: the same
			// attempt goes on (DESIGN: a challenge is not a failed call).
			d.attemptCSeq, d.challenged, d.cdr.FinalCode = ev.CSeqNum, false, 0
			d.inviteUS, d.provUS = ev.TimeUS, 0
			d.touch(ev.TimeUS)
		default:
			t.Counts.ReInvites++
			if !d.closed {
				d.lastUS = max(d.lastUS, ev.TimeUS)
				d.refreshUS = max(d.refreshUS, ev.TimeUS) // a session refresh (RFC 4028 §7)
			}
		}
		return
	}
	if ev.Flags&event.FlagRetransmission != 0 {
		// The probe saw this INVITE earlier: its call started before the
		// point we read from. A retransmission never starts a call.
		t.Counts.Orphans++
		return
	}
	msg, err := t.parser.ParseSIP(ev.Raw)
	if err != nil {
		t.Counts.ParseErrors++
		return
	}
	req, ok := msg.(*sip.Request)
	if !ok {
		t.Counts.ParseErrors++
		return
	}
	if to := req.To(); to != nil {
		if _, has := to.Params.Get("tag"); has {
			// In-dialog: the callee's re-INVITE, or one of a call whose
			// start we never saw.
			if d := ls.request(ev.Src.Addr(), ev.Dst.Addr()); d != nil {
				t.Counts.ReInvites++
				if !d.closed {
					d.lastUS = max(d.lastUS, ev.TimeUS)
				}
				return
			}
			t.Counts.Orphans++
			return
		}
	}
	t.Counts.Invites++
	t.Counts.Opened++
	trunk, dir := t.trunks.Resolve(ev.Src, ev.Dst, ev.CaptureID, string(ev.Node))
	d := &dialog{
		partition:   p,
		firstOffset: offset,
		holdOffset:  -1,
		caller:      ev.Src,
		from:        ev.Src.Addr(),
		to:          ev.Dst.Addr(),
		attemptCSeq: ev.CSeqNum,
		inviteUS:    ev.TimeUS,
		lastUS:      ev.TimeUS,
		cdr: CDR{
			CallID:    string(ev.CallID),
			Leg:       uint8(min(len(ls), 255)),
			Trunk:     trunk,
			Direction: dir,
			ProbeID:   string(ev.ProbeID),
			Callee:    req.Recipient.User,
			SrcIP:     ev.Src.Addr().String(),
			DstIP:     ev.Dst.Addr().String(),
			StartUS:   ev.TimeUS,
			Version:   uint64(ev.TimeUS),
		},
	}
	if f := req.From(); f != nil {
		d.cdr.Caller = f.Address.User
	}
	if d.cdr.Callee == "" {
		if to := req.To(); to != nil {
			d.cdr.Callee = to.Address.User
		}
	}
	d.cdr.Codecs = sdpCodecs(ev.Raw, &t.sdp) // the offer; the answer replaces it
	n := t.trunks.Numbering(trunk)
	d.cdr.CallerE164, d.cdr.CalleeE164 = E164(d.cdr.Caller, n), E164(d.cdr.Callee, n)
	d.cdr.Country = CountryCode(d.cdr.CalleeE164)
	switch {
	case len(ev.CorrelationID) > 0:
		d.cdr.Correlation = string(ev.CorrelationID)
	case t.corrHeader != "":
		if h := req.GetHeader(t.corrHeader); h != nil {
			d.cdr.Correlation = h.Value()
		}
	}
	pt.dialogs[d.cdr.CallID] = append(ls, d)
}

func (t *Tracker) bye(d *dialog, ev *event.SIP) {
	if d == nil {
		t.Counts.Orphans++
		return
	}
	if d.closed {
		if d.timerClosed && ev.TimeUS > d.cdr.EndUS-1 && d.cdr.AnswerUS != 0 {
			// The BYE of a call a timer had closed (no BYE seen by then,
			// max duration, session expiry): the same CDR is updated and
			// written again with a higher version, never a second one.
			d.timerClosed = false
			d.cdr.Flags = slices.DeleteFunc(d.cdr.Flags, func(f string) bool {
				return f == "no_bye" || f == "max_duration" || f == "session_expired"
			})
			d.cdr.Flags = append(d.cdr.Flags, "late_bye")
			d.setHangup(ev)
			d.reason(ev)
			d.cdr.EndUS = ev.TimeUS
			d.touch(ev.TimeUS)
			t.out = append(t.out, d.finish())
			return
		}
		t.Counts.Retransmissions++
		return
	}
	d.setHangup(ev)
	if d.cdr.AnswerUS == 0 {
		d.byeEarly = true // an early dialog torn down before any 2xx
	}
	d.reason(ev)
	d.touch(ev.TimeUS)
	t.close(d, ev.TimeUS)
}

// setHangup records who sent the BYE: the INVITE's sender is the caller.
func (d *dialog) setHangup(ev *event.SIP) {
	if ev.Src == d.caller || ev.Src.Addr() == d.caller.Addr() {
		d.cdr.HangupBy = "caller"
	} else {
		d.cdr.HangupBy = "callee"
	}
}

func (t *Tracker) response(d *dialog, ev *event.SIP) {
	if d == nil {
		t.Counts.Orphans++
		return
	}
	if string(ev.Method) != "INVITE" || ev.CSeqNum != d.attemptCSeq || d.closed {
		if !d.closed {
			d.lastUS = max(d.lastUS, ev.TimeUS)
		}
		return // responses to CANCEL, BYE, re-INVITEs; retransmissions after close
	}
	code := ev.Status
	switch {
	case code < 180:
		// 100 Trying is hop-by-hop: it says nothing about the far end, but
		// it does stop Timer B.
		d.lastUS = max(d.lastUS, ev.TimeUS)
		if d.provUS == 0 {
			d.provUS = ev.TimeUS
		}
	case code < 200:
		if d.provUS == 0 {
			d.provUS = ev.TimeUS
		}
		if d.cdr.RingUS == 0 {
			d.cdr.RingUS = ev.TimeUS
			d.touch(ev.TimeUS)
		}
	case code < 300:
		if d.cdr.AnswerUS == 0 {
			d.cdr.AnswerUS = ev.TimeUS
			d.cdr.FinalCode = code
			d.refreshUS = ev.TimeUS
			d.sessionUS = sessionExpires(ev.Raw) * 1e6
			if c := sdpCodecs(ev.Raw, &t.sdp); c != "" {
				d.cdr.Codecs = c // the answer: what was negotiated
			}
			d.touch(ev.TimeUS)
		}
	default:
		if d.cdr.AnswerUS != 0 {
			return // another fork failed after one answered
		}
		d.cdr.FinalCode, d.finalUS = code, ev.TimeUS
		d.reason(ev)
		d.touch(ev.TimeUS)
		if code == 401 || code == 407 {
			d.challenged = true // wait for the re-sent INVITE
			return
		}
		t.close(d, ev.TimeUS)
	}
}

// close ends the dialog at endUS and emits its CDR.
func (t *Tracker) close(d *dialog, endUS int64) {
	d.closed, d.closedUS = true, d.lastUS
	d.cdr.EndUS = endUS
	t.Counts.Closed++
	t.out = append(t.out, d.finish())
}

// finish derives the computed fields; the counting rules are in outcome.go.
func (d *dialog) finish() CDR {
	c := d.cdr
	c.Flags = append([]string(nil), c.Flags...)
	c.Outcome = classify(c.AnswerUS != 0, c.FinalCode, d.cancelled)
	if d.byeEarly {
		c.Outcome = Cancelled
	}
	switch {
	case c.RingUS != 0:
		c.PDDMs = (c.RingUS - c.StartUS) / 1000
	case c.AnswerUS != 0:
		c.PDDMs = (c.AnswerUS - c.StartUS) / 1000
		c.Flags = append(c.Flags, "pdd_to_2xx")
	default:
		c.PDDMs = -1
	}
	if c.AnswerUS != 0 && c.EndUS > c.AnswerUS {
		c.DurationMs = (c.EndUS - c.AnswerUS) / 1000
	}
	c.RingMs = -1
	if c.RingUS != 0 {
		until := c.EndUS
		if c.AnswerUS != 0 {
			until = c.AnswerUS
		}
		c.RingMs = max(until-c.RingUS, 0) / 1000
	}
	return c
}

// sweep applies the timers of one partition at its event-time clock; with
// final set (end of input) every open dialog is closed, answered calls
// without a BYE at endUS (the input's last instant) when it is later than
// their last message.
func (t *Tracker) sweep(pt *partition, final bool, endUS int64) {
	now := pt.nowUS
	pt.sweptUS = now
	inviteUS := t.timers.Invite.Microseconds()
	procUS := t.timers.Proceeding.Microseconds()
	for id, ls := range pt.dialogs {
		evictable := true
		for _, d := range ls {
			t.timeout(d, now, final, endUS, inviteUS, procUS)
			if !d.closed || (!final && now-d.closedUS < t.timers.Linger.Microseconds()) {
				evictable = false
			}
		}
		// A call's legs go together, so a late message of one leg never
		// meets a renumbered sibling.
		if evictable {
			delete(pt.dialogs, id)
			t.Counts.Evicted += int64(len(ls))
		}
	}
}

// timeout applies the timers to one open leg.
func (t *Tracker) timeout(d *dialog, now int64, final bool, endUS, inviteUS, procUS int64) {
	if d.closed {
		return
	}
	switch {
	case d.cdr.AnswerUS != 0:
		if d.sessionUS > 0 && now-d.refreshUS >= d.sessionUS {
			// RFC 4028 §10: without a refresh the session ends when the
			// interval runs out.
			d.cdr.Flags = append(d.cdr.Flags, "session_expired")
			d.timerClosed = true
			d.touch(d.refreshUS + d.sessionUS)
			t.close(d, d.refreshUS+d.sessionUS)
		} else if now-d.cdr.AnswerUS >= t.timers.MaxDuration.Microseconds() {
			d.cdr.Flags = append(d.cdr.Flags, "max_duration")
			d.timerClosed = true
			t.close(d, d.lastUS)
		} else if final {
			d.cdr.Flags = append(d.cdr.Flags, "no_bye")
			t.close(d, max(d.lastUS, endUS))
		}
	case d.challenged:
		if final || now-d.finalUS >= inviteUS {
			t.close(d, d.finalUS)
		}
	default:
		// No final response: Timer B from the INVITE while nothing came
		// back, Timer C from the first provisional once something did.
		deadline := d.inviteUS + inviteUS
		if d.provUS != 0 {
			deadline = d.provUS + procUS
		}
		if now >= deadline {
			d.touch(deadline)
			t.close(d, deadline)
		} else if final {
			d.cdr.Flags = append(d.cdr.Flags, "end_of_input")
			d.touch(deadline)
			t.close(d, deadline)
		}
	}
}

// AdvanceIdle moves every partition's clock forward by elapsed wall time and
// applies the timers. Live, capture time and wall time run together, so a
// quiet partition still times out its calls; replays never call it.
func (t *Tracker) AdvanceIdle(elapsed time.Duration) {
	for _, pt := range t.parts {
		pt.nowUS += elapsed.Microseconds()
		t.sweep(pt, false, 0)
	}
}

// CloseAll ends every open dialog: the input (a replayed capture) ended at
// endUS, or at each partition's last event when endUS is 0.
func (t *Tracker) CloseAll(endUS int64) {
	for _, pt := range t.parts {
		t.sweep(pt, true, endUS)
	}
}

// TakeCDRs returns the CDRs emitted since the last call.
func (t *Tracker) TakeCDRs() []CDR {
	out := t.out
	t.out = nil
	return out
}

// CommitPoint returns the offset of partition p from which a restarted
// collector must re-read to rebuild every dialog still open: the first
// offset of the oldest open dialog, or the offset after the last event
// applied. Committing beyond it would lose open calls in a crash.
func (t *Tracker) CommitPoint(p int) int64 {
	pt := t.parts[p]
	if pt == nil {
		return -1
	}
	next := pt.lastOffset + 1
	for _, ls := range pt.dialogs {
		for _, d := range ls {
			if !d.closed && d.firstOffset < next {
				next = d.firstOffset
			}
			if d.holdOffset >= 0 && d.holdOffset < next {
				next = d.holdOffset
			}
		}
	}
	return next
}

// Partitions lists the partitions the tracker has seen.
func (t *Tracker) Partitions() []int {
	ps := make([]int, 0, len(t.parts))
	for p := range t.parts {
		ps = append(ps, p)
	}
	return ps
}
