package synth

import "strconv"

// sipWriter renders messages into reusable buffers; the body is built first
// because Content-Length must precede it.
type sipWriter struct {
	msg, body []byte
}

// sipHead is one message minus the Call-ID, which every message of a call
// shares.
type sipHead struct {
	uri      string // Request-URI; empty for responses
	method   string // request method, or the CSeq method a response answers
	code     int    // response status, 0 for requests
	cseq     int
	via      *host
	viaPort  uint16
	branch   string
	from, to party
	contact  string // URI; empty omits Contact
	agent    string
	allow    bool
}

type party struct {
	user string
	host *host
	tag  string
}

const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS"

// sender reports which side puts ev on the wire: requests come from the
// INVITE sender except a callee BYE, responses from the other side.
func (c *call) sender(k msgKind) (src, dst *host, sport, dport uint16) {
	fromA := false
	switch k {
	case msgInvite, msgAck, msgCancel:
		fromA = true
	case msgBye:
		fromA = !c.byCallee
	case msgByeOK:
		fromA = c.byCallee
	}
	if fromA {
		return c.a, c.b, c.aPort, c.bPort
	}
	return c.b, c.a, c.bPort, c.aPort
}

// render returns the SIP payload of a k message; the slice is valid until the next call.
func (w *sipWriter) render(c *call, k msgKind) []byte {
	caller := party{c.caller, c.a, c.fromTag}
	callee := party{c.callee, c.b, c.toTag}
	calleeNoTag := party{c.callee, c.b, ""}
	ruri := "sip:" + c.callee + "@" + hostPort(c.b, c.bPort)
	invite := sipHead{method: "INVITE", cseq: 1, via: c.a, viaPort: c.aPort, branch: c.branch,
		from: caller, to: calleeNoTag, agent: c.bAgent}
	w.body = w.body[:0]
	var h sipHead
	switch k {
	case msgInvite:
		h = invite
		h.uri, h.agent, h.allow = ruri, c.aAgent, true
		h.contact = contactURI(c.caller, c.a, c.aPort)
		w.body = appendSDP(w.body, c.a, c.aMedia, c.sessA)
	case msgTrying:
		h = invite
		h.code = 100
	case msgRinging, msgProgress:
		h = invite
		h.code, h.to = 180, callee
		h.contact = contactURI(c.callee, c.b, c.bPort)
		if k == msgProgress {
			h.code = 183
			w.body = appendSDP(w.body, c.b, c.bMedia, c.sessB)
		}
	case msgFinal:
		h = invite
		h.code, h.to = c.code, callee
		if c.code == 200 {
			h.contact, h.allow = contactURI(c.callee, c.b, c.bPort), true
			w.body = appendSDP(w.body, c.b, c.bMedia, c.sessB)
		}
	case msgAck:
		// ACK of a 2xx is its own transaction sent to the remote target;
		// ACK of a failure reuses the INVITE's branch and Request-URI.
		h = invite
		h.method, h.to, h.uri, h.agent = "ACK", callee, ruri, c.aAgent
		if c.code == 200 {
			h.uri, h.branch = contactURI(c.callee, c.b, c.bPort), c.ackBranch
		}
	case msgCancel, msgCancelOK:
		h = invite
		h.method = "CANCEL"
		if k == msgCancel {
			h.uri, h.agent = ruri, c.aAgent
		} else {
			h.code, h.to = 200, callee
		}
	case msgBye, msgByeOK:
		// The hanging-up side owns the transaction and its CSeq space.
		h = sipHead{method: "BYE", cseq: 2, via: c.a, viaPort: c.aPort, branch: c.byeBranch,
			from: caller, to: callee, agent: c.aAgent}
		h.uri = contactURI(c.callee, c.b, c.bPort)
		if c.byCallee {
			h.cseq, h.via, h.viaPort, h.from, h.to, h.agent = 1, c.b, c.bPort, callee, caller, c.bAgent
			h.uri = contactURI(c.caller, c.a, c.aPort)
		}
		if k == msgByeOK {
			h.uri, h.code = "", 200
			h.agent = c.bAgent
			if c.byCallee {
				h.agent = c.aAgent
			}
		}
	}
	w.msg = h.append(w.msg[:0], c.callID, w.body)
	return w.msg
}

func (h *sipHead) append(b []byte, callID string, body []byte) []byte {
	if h.code == 0 {
		b = append(b, h.method...)
		b = append(b, ' ')
		b = append(b, h.uri...)
		b = append(b, " SIP/2.0\r\n"...)
	} else {
		b = append(b, "SIP/2.0 "...)
		b = strconv.AppendInt(b, int64(h.code), 10)
		b = append(b, ' ')
		b = append(b, reason(h.code)...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Via: SIP/2.0/UDP "...)
	b = append(b, h.via.name...)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(h.viaPort), 10)
	b = append(b, ";branch="...)
	b = append(b, h.branch...)
	b = append(b, "\r\n"...)
	if h.code == 0 {
		b = append(b, "Max-Forwards: 70\r\n"...)
	}
	b = h.from.append(append(b, "From: "...))
	b = h.to.append(append(b, "To: "...))
	b = append(b, "Call-ID: "...)
	b = append(b, callID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendInt(b, int64(h.cseq), 10)
	b = append(b, ' ')
	b = append(b, h.method...)
	b = append(b, "\r\n"...)
	if h.contact != "" {
		b = append(b, "Contact: <"...)
		b = append(b, h.contact...)
		b = append(b, ">\r\n"...)
	}
	if h.code == 0 {
		b = append(b, "User-Agent: "...)
	} else {
		b = append(b, "Server: "...)
	}
	b = append(b, h.agent...)
	b = append(b, "\r\n"...)
	if h.allow {
		b = append(b, "Allow: "+allowMethods+"\r\n"...)
	}
	if len(body) > 0 {
		b = append(b, "Content-Type: application/sdp\r\n"...)
	}
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	return append(b, body...)
}

func (p party) append(b []byte) []byte {
	b = append(b, "<sip:"...)
	b = append(b, p.user...)
	b = append(b, '@')
	b = append(b, p.host.name...)
	b = append(b, '>')
	if p.tag != "" {
		b = append(b, ";tag="...)
		b = append(b, p.tag...)
	}
	return append(b, "\r\n"...)
}

func contactURI(user string, h *host, port uint16) string {
	return "sip:" + user + "@" + h.name + ":" + strconv.Itoa(int(port))
}

// hostPort leaves out the default port, as UAs usually do in Request-URIs.
func hostPort(h *host, port uint16) string {
	if port == 5060 {
		return h.name
	}
	return h.name + ":" + strconv.Itoa(int(port))
}

func reason(code int) string {
	switch code {
	case 100:
		return "Trying"
	case 180:
		return "Ringing"
	case 183:
		return "Session Progress"
	case 200:
		return "OK"
	case 408:
		return "Request Timeout"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 487:
		return "Request Terminated"
	case 503:
		return "Service Unavailable"
	default:
		return "Unknown"
	}
}

// appendSDP offers or answers PCMU/PCMA with RFC 4733 DTMF; answers list the
// same codecs so either side's first choice is PCMU, matching the RTP sent.
func appendSDP(b []byte, h *host, port uint16, sess uint64) []byte {
	b = append(b, "v=0\r\no=- "...)
	b = strconv.AppendUint(b, sess, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, sess, 10)
	b = append(b, " IN IP4 "...)
	b = append(b, h.name...)
	b = append(b, "\r\ns=call\r\nc=IN IP4 "...)
	b = append(b, h.name...)
	b = append(b, "\r\nt=0 0\r\nm=audio "...)
	b = strconv.AppendUint(b, uint64(port), 10)
	b = append(b, " RTP/AVP 0 8 101\r\n"+
		"a=rtpmap:0 PCMU/8000\r\n"+
		"a=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\n"+
		"a=fmtp:101 0-16\r\n"+
		"a=ptime:20\r\n"+
		"a=sendrecv\r\n"...)
	return b
}
