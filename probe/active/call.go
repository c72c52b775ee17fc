package active

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/rtp"
	"github.com/trunkscope/trunkscope/probe/sdp"
)

// Credentials answer digest challenges (RFC 3261 §22, RFC 2617/7616 as
// sipgo's digest package implements them). They never print.
type Credentials struct {
	Username string
	Password string
}

func (c Credentials) String() string   { return "[redacted]" }
func (c Credentials) GoString() string { return "[redacted]" }

// CallOptions describe one test call.
type CallOptions struct {
	// To is the number (or user) to call: the Request-URI's user part on
	// the target's host.
	To string
	// Duration of audio after the answer.
	Duration time.Duration
	// Timeout is how long the INVITE waits for any response but 100
	// Trying; RingTimeout how long a ringing call may go unanswered before
	// it is cancelled.
	Timeout, RingTimeout time.Duration
	// Codec is offered first: PCMU (default) or PCMA; both are offered.
	Codec string
	// Auth, when set, answers 401 and 407 challenges.
	Auth *Credentials
}

// Step is one thing that happened during a call, for the CLI's timeline.
type Step struct {
	At   time.Duration // since the INVITE
	What string
}

// CallReport is a test call's outcome.
type CallReport struct {
	At     time.Time // INVITE sent
	CallID string
	URI    string // Request-URI
	Result event.CallResult
	Code   uint16
	Reason string
	// PDD is the INVITE to the first 18x; Setup to the 2xx; Duration the
	// 2xx to the BYE. Zero when the event did not happen (HasPDD says
	// whether an 18x came).
	PDD, Setup, Duration time.Duration
	HasPDD               bool
	// Sent is how many RTP packets were sent; RTP describes the received
	// stream (HasRTP false when nothing came back).
	Sent   int
	RTP    rtp.Report
	HasRTP bool
	Detail string
	Steps  []Step
}

// Event renders the report as an event for trunk.
func (r *CallReport) Event(probeID, trunk string) *event.TestCall {
	ev := &event.TestCall{Header: event.Header{Version: event.Version, ProbeID: []byte(probeID), TimeUS: r.At.UnixMicro()},
		Trunk: []byte(trunk), CallID: []byte(r.CallID), Target: []byte(r.URI), Result: r.Result, Code: r.Code,
		PDDMS: ms(r.PDD), SetupMS: ms(r.Setup), DurationMS: ms(r.Duration), TxPackets: uint32(r.Sent), Detail: []byte(r.Detail)}
	if r.HasRTP {
		ev.RxPackets = uint32(max(r.RTP.Packets, 0))
		ev.RxLost = int32(r.RTP.Lost)
		ev.JitterUS = uint32(r.RTP.MeanJitterMS * 1000)
		ev.MOSx1000 = uint16(r.RTP.MOS*1000 + 0.5)
	}
	return ev
}

func ms(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	return uint32(min(d.Milliseconds(), 1<<32-1))
}

// Call places one test call through t and reports it. It never returns an
// error: every failure is a classified report. It returns by the
// configured deadlines whatever the far end does.
func Call(ctx context.Context, t Target, o CallOptions) *CallReport {
	rep := &CallReport{At: time.Now()}
	if o.Timeout <= 0 {
		o.Timeout = 8 * time.Second
	}
	if o.RingTimeout <= 0 {
		o.RingTimeout = 30 * time.Second
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	fail := func(err error) *CallReport {
		_, why := classify(err, &t)
		rep.Result, rep.Detail = event.CallError, why
		return rep
	}
	// The local address goes into Contact and the SDP: resolve the target
	// and ask the kernel which address routes there.
	probe, err := newPeer(t, netip.AddrPort{}) // parses the URI; discarded below
	if err != nil {
		rep.Result, rep.Detail = event.CallError, err.Error()
		return rep
	}
	rctx, cancel := context.WithTimeout(ctx, o.Timeout)
	local, remoteIP, err := probe.localIP(rctx)
	cancel()
	transport := probe.transport
	probe.close()
	if err != nil {
		return fail(err)
	}
	var fixed netip.AddrPort
	if transport == "UDP" {
		port, err := freeUDPPort(local)
		if err != nil {
			return fail(err)
		}
		fixed = netip.AddrPortFrom(local, port)
	}
	p, err := newPeer(t, fixed)
	if err != nil {
		return fail(err)
	}
	defer p.close()
	m, err := newMedia(local)
	if err != nil {
		return fail(err)
	}
	defer m.close()
	c := &call{p: p, o: o, rep: rep, m: m, local: local, remote: netip.AddrPortFrom(remoteIP, uint16(p.uri.Port)), bye: make(chan struct{})}
	c.run(ctx)
	return rep
}

// call is one test call in progress.
type call struct {
	p      *peer
	o      CallOptions
	rep    *CallReport
	m      *media
	local  netip.Addr
	remote netip.AddrPort // where the INVITE goes
	req    *sip.Request   // the INVITE (re-sent with credentials: the same object)
	callID string
	start  time.Time

	byeOnce sync.Once
	bye     chan struct{} // closed when the far end hangs up
	stepMu  sync.Mutex    // steps also come from sipgo's retransmission callback
}

func (c *call) step(what string) {
	c.stepMu.Lock()
	c.rep.Steps = append(c.rep.Steps, Step{At: time.Since(c.start), What: what})
	c.stepMu.Unlock()
}

func (c *call) run(ctx context.Context) {
	p, rep := c.p, c.rep
	ruri := p.uri
	ruri.User = c.o.To
	ruri.UriParams = sip.NewParams()
	if p.transport != "UDP" && p.uri.Scheme != "sips" {
		ruri.UriParams.Add("transport", strings.ToLower(p.transport))
	}
	rep.URI = ruri.String()
	req := sip.NewRequest(sip.INVITE, ruri)
	req.SetTransport(p.transport)
	from, err := p.fromHeader(c.local)
	if err != nil {
		rep.Result, rep.Detail = event.CallError, err.Error()
		return
	}
	to, err := p.toHeader(ruri)
	if err != nil {
		rep.Result, rep.Detail = event.CallError, err.Error()
		return
	}
	c.callID = sip.GenerateTagN(24) + "@trunkscope"
	rep.CallID = c.callID
	callID := sip.CallIDHeader(c.callID)
	contact := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "trunkscope", Host: hostOf(c.local)}}
	if p.local.IsValid() {
		contact.Address.Port = int(p.local.Port())
	} else if p.transport != "UDP" {
		contact.Address.UriParams = sip.NewParams()
		contact.Address.UriParams.Add("transport", strings.ToLower(p.transport))
	}
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: uint32(1 + rand.IntN(1000)), MethodName: sip.INVITE})
	req.AppendHeader(contact)
	req.AppendHeader(sip.NewHeader("User-Agent", orDefault(p.t.UserAgent, "trunkscope")))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS"))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(c.offer())
	c.req = req
	p.server.OnBye(func(r *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(r, 200, "OK", nil))
		if id := r.CallID(); id != nil && string(*id) == c.callID {
			c.byeOnce.Do(func() { close(c.bye) })
		}
	})
	p.clock.watch(c.callID)
	defer p.clock.forget(c.callID)

	c.start = time.Now()
	rep.At = c.start
	tctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	tx, err := p.client.TransactionRequest(tctx, req)
	cancel()
	if err != nil {
		_, why := classify(err, &p.t)
		rep.Result, rep.Detail = event.CallError, why
		return
	}
	c.step("INVITE sent")
	// A closed UDP port answers with ICMP, which sipgo's unconnected
	// socket never sees: watch for it beside the INVITE (see Pinger.Ping).
	refused := make(chan struct{})
	uctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if p.transport == "UDP" {
		go func() {
			if portUnreachable(uctx, c.remote, p.t.Source) {
				close(refused)
			}
		}()
	}
	answer, tx := c.await(ctx, tx, refused)
	stopWatch()
	defer func() { tx.Terminate() }()
	c.timings()
	if answer == nil {
		return
	}
	c.answered(ctx, tx, answer)
}

// offer is the SDP offer: PCMU and PCMA (the configured one first) on the
// media socket.
func (c *call) offer() []byte {
	first, second := ptPCMU, ptPCMA
	if strings.EqualFold(c.o.Codec, "PCMA") {
		first, second = ptPCMA, ptPCMU
	}
	ipv := "IP4"
	if c.local.Is6() {
		ipv = "IP6"
	}
	id := rand.Uint32()
	return fmt.Appendf(nil, "v=0\r\no=trunkscope %d 1 IN %s %s\r\ns=trunkscope test call\r\nc=IN %s %s\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d %d\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=ptime:20\r\na=sendrecv\r\n",
		id, ipv, c.local, ipv, c.local, c.m.port(), first, second)
}

// await runs the INVITE transaction until an answer (returned), a final
// failure, the deadlines or ctx. Digest challenges are answered once each
// (sipgo re-sends the INVITE with a new CSeq in a new transaction, which it
// returns).
func (c *call) await(ctx context.Context, tx sip.ClientTransaction, refused <-chan struct{}) (*sip.Response, sip.ClientTransaction) {
	rep, p := c.rep, c.p
	noResponse := time.NewTimer(c.o.Timeout)
	defer noResponse.Stop()
	var ringC <-chan time.Time
	var provisional bool
	authTries := 0
	for {
		select {
		case r := <-tx.Responses():
			c.step(fmt.Sprintf("%d %s", r.StatusCode, r.Reason))
			switch {
			case r.StatusCode == 100:
			case r.IsProvisional():
				if !provisional {
					provisional = true
					noResponse.Stop()
					ring := time.NewTimer(c.o.RingTimeout)
					defer ring.Stop()
					ringC = ring.C
				}
			case r.IsSuccess():
				rep.Code, rep.Reason = uint16(r.StatusCode), r.Reason
				return r, tx
			case (r.StatusCode == 401 || r.StatusCode == 407) && c.o.Auth != nil && authTries < 2:
				authTries++
				tx.Terminate() // the transaction has ACKed the challenge
				actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
				ntx, err := p.client.TransactionDigestAuth(actx, c.req, r, sipgo.DigestAuth{Username: c.o.Auth.Username, Password: c.o.Auth.Password})
				cancel()
				if err != nil {
					rep.Result, rep.Code, rep.Detail = event.CallError, uint16(r.StatusCode), "answering the challenge failed: "+lastPart(err)
					return nil, tx
				}
				tx = ntx
				c.step("INVITE re-sent with credentials")
				noResponse.Reset(c.o.Timeout)
			default:
				rep.Result, rep.Code, rep.Reason = event.CallRejected, uint16(r.StatusCode), r.Reason
				switch {
				case (r.StatusCode == 401 || r.StatusCode == 407) && c.o.Auth == nil:
					rep.Detail = "challenged for credentials, none configured"
				case r.StatusCode == 401 || r.StatusCode == 407 || (r.StatusCode == 403 && authTries > 0):
					rep.Detail = "credentials rejected"
				}
				return nil, tx
			}
		case <-tx.Done():
			err := tx.Err()
			if err == nil || errors.Is(err, sip.ErrTransactionTimeout) {
				rep.Result, rep.Detail = event.CallTimeout, "no final response"
				return nil, tx
			}
			res, why := classify(err, &p.t)
			rep.Result, rep.Detail = event.CallError, why
			if res == event.PingTimeout {
				rep.Result = event.CallTimeout
			}
			return nil, tx
		case <-noResponse.C:
			rep.Result, rep.Detail = event.CallTimeout, fmt.Sprintf("no response within %v", c.o.Timeout)
			if why, bad := p.clock.badSince(c.remote.String(), c.start); bad {
				rep.Result, rep.Detail = event.CallError, "unparsable response: "+why
			}
			c.step("timeout")
			return nil, tx
		case <-refused:
			rep.Result, rep.Detail = event.CallError, "port unreachable (ICMP): nothing listens there"
			c.step("ICMP port unreachable")
			return nil, tx
		case <-ringC:
			c.step(fmt.Sprintf("no answer within %v: CANCEL", c.o.RingTimeout))
			return c.cancel(ctx, tx)
		case <-ctx.Done():
			if provisional {
				return c.cancel(context.WithoutCancel(ctx), tx)
			}
			rep.Result, rep.Detail = event.CallError, "stopped before any response"
			return nil, tx
		}
	}
}

// cancel sends CANCEL (RFC 3261 §9.1: only after a provisional response)
// and waits for the INVITE's final response. A 2xx that crossed the CANCEL
// is answered with ACK and BYE at once.
func (c *call) cancel(ctx context.Context, tx sip.ClientTransaction) (*sip.Response, sip.ClientTransaction) {
	rep, p := c.rep, c.p
	rep.Result, rep.Detail = event.CallCancelled, fmt.Sprintf("no answer within %v", c.o.RingTimeout)
	inv := c.req
	cr := sip.NewRequest(sip.CANCEL, inv.Recipient)
	cr.AppendHeader(sip.HeaderClone(inv.Via()))
	cr.AppendHeader(sip.HeaderClone(inv.From()))
	cr.AppendHeader(sip.HeaderClone(inv.To()))
	cr.AppendHeader(sip.HeaderClone(inv.CallID()))
	cr.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	cr.AppendHeader(&mf)
	sip.CopyHeaders("Route", inv, cr)
	cr.SetTransport(inv.Transport())
	cr.Laddr = inv.Laddr
	cr.SetBody(nil)
	cctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	ctx2, err := p.client.TransactionRequest(cctx, cr, func(*sipgo.Client, *sip.Request) error { return nil })
	if err != nil {
		rep.Detail += "; CANCEL failed: " + lastPart(err)
		return nil, tx
	}
	defer ctx2.Terminate()
	for {
		select {
		case r := <-tx.Responses():
			if r.IsProvisional() {
				continue
			}
			c.step(fmt.Sprintf("%d %s", r.StatusCode, r.Reason))
			rep.Code, rep.Reason = uint16(r.StatusCode), r.Reason
			if r.IsSuccess() {
				// Answered as the CANCEL crossed it: end the call at once.
				rep.Detail = "answered after CANCEL; hung up at once"
				c.ack(tx, r)
				c.sendBye(ctx, r)
			}
			return nil, tx
		case <-tx.Done():
			return nil, tx
		case <-cctx.Done():
			rep.Detail += "; no final response to the INVITE after CANCEL"
			return nil, tx
		}
	}
}

// timings reads PDD and setup time off the wire clock: socket arrival
// times, not the order sipgo delivered the responses in.
func (c *call) timings() {
	if at, _, ok := c.p.clock.first(c.callID, "INVITE", 180, 189); ok {
		c.rep.PDD, c.rep.HasPDD = at.Sub(c.start), true
	}
	if at, _, ok := c.p.clock.first(c.callID, "INVITE", 200, 299); ok {
		c.rep.Setup = at.Sub(c.start)
	}
}

// answered ACKs the 2xx, exchanges audio, hangs up and measures.
func (c *call) answered(ctx context.Context, tx sip.ClientTransaction, r *sip.Response) {
	rep := c.rep
	c.ack(tx, r)
	tx.OnRetransmission(func(rr *sip.Response) {
		if rr.IsSuccess() {
			c.ack(nil, rr) // the 2xx came again: our ACK was lost
		}
	})
	var s sdp.Session
	remote, pt, err := answerMedia(r.Body(), &s)
	if err != nil {
		rep.Result, rep.Detail = event.CallError, "answer: "+err.Error()
		c.sendBye(ctx, r)
		return
	}
	c.m.remote, c.m.pt = remote, pt
	c.step(fmt.Sprintf("media: %s to %s", map[uint8]string{ptPCMU: "PCMU", ptPCMA: "PCMA"}[pt], remote))
	answeredAt := time.Now()
	c.m.run(ctx, c.o.Duration, c.bye)
	select {
	case <-c.bye:
		c.step("BYE received")
		rep.Detail = "the far end hung up first"
	default:
		c.sendBye(ctx, r)
	}
	rep.Duration = time.Since(answeredAt)
	rep.Sent, rep.RTP, rep.HasRTP = c.m.report()
	switch {
	case !rep.HasRTP || rep.RTP.Packets == 0:
		rep.Result = event.CallOneWayAudio
		rep.Detail = strings.TrimPrefix(rep.Detail+"; no RTP received", "; ")
	default:
		rep.Result = event.CallAnswered
	}
}

// answerMedia finds the answer's audio stream and the payload type to send.
func answerMedia(body []byte, s *sdp.Session) (netip.AddrPort, uint8, error) {
	if len(body) == 0 {
		return netip.AddrPort{}, 0, errors.New("2xx without SDP")
	}
	if err := sdp.Parse(body, s); err != nil {
		return netip.AddrPort{}, 0, fmt.Errorf("unreadable SDP: %w", err)
	}
	for i := range s.Media[:s.NumMedia] {
		md := &s.Media[i]
		if string(md.Type) != "audio" || md.Disabled() || !md.IsRTP() {
			continue
		}
		if !md.Conn.Addr.IsValid() {
			return netip.AddrPort{}, 0, errors.New("audio stream without an IP connection address")
		}
		for _, f := range md.Formats[:md.NumFormats] {
			if f == ptPCMU || f == ptPCMA {
				return netip.AddrPortFrom(md.Conn.Addr, md.Port), f, nil
			}
		}
		return netip.AddrPort{}, 0, errors.New("no PCMU or PCMA in the answer")
	}
	return netip.AddrPort{}, 0, errors.New("no audio stream in the answer")
}

// inDialog builds a request within the dialog the 2xx established (RFC
// 3261 §12.2.1.1): to the remote target (Contact), with the route set from
// Record-Route in reverse.
func (c *call) inDialog(method sip.RequestMethod, r *sip.Response, cseq uint32) *sip.Request {
	inv := c.req
	target := inv.Recipient
	if ct := r.Contact(); ct != nil {
		target = ct.Address
	}
	q := sip.NewRequest(method, *target.Clone())
	rr := r.GetHeaders("Record-Route")
	for i := len(rr) - 1; i >= 0; i-- {
		q.AppendHeader(sip.NewHeader("Route", rr[i].Value()))
	}
	q.AppendHeader(sip.HeaderClone(inv.From()))
	q.AppendHeader(sip.HeaderClone(r.To()))
	q.AppendHeader(sip.HeaderClone(inv.CallID()))
	q.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	q.AppendHeader(&mf)
	if ct := inv.Contact(); ct != nil {
		q.AppendHeader(sip.HeaderClone(ct))
	}
	q.SetTransport(inv.Transport())
	q.Laddr = inv.Laddr
	if len(rr) == 0 {
		// No proxy in the path: send where the INVITE went, not to a
		// Contact the far end may have filled with an address we cannot
		// reach (behind NAT, or a hostname).
		q.SetDestination(inv.Destination())
	}
	q.SetBody(nil)
	return q
}

func (c *call) ack(_ sip.ClientTransaction, r *sip.Response) {
	ack := c.inDialog(sip.ACK, r, c.req.CSeq().SeqNo)
	if err := c.p.client.WriteRequest(ack, sipgo.ClientRequestAddVia); err == nil {
		c.step("ACK sent")
	}
}

func (c *call) sendBye(ctx context.Context, r *sip.Response) {
	bye := c.inDialog(sip.BYE, r, c.req.CSeq().SeqNo+1)
	bctx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	tx, err := c.p.client.TransactionRequest(bctx, bye, sipgo.ClientRequestAddVia)
	if err != nil {
		c.step("BYE failed: " + lastPart(err))
		return
	}
	defer tx.Terminate()
	c.step("BYE sent")
	for {
		select {
		case br := <-tx.Responses():
			if br.IsProvisional() {
				continue
			}
			c.step(fmt.Sprintf("%d %s (BYE)", br.StatusCode, br.Reason))
			return
		case <-tx.Done():
			return
		case <-bctx.Done():
			c.step("no response to BYE")
			return
		}
	}
}
