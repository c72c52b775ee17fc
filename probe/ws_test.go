package probe_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/sipscan"
)

// The WebSocket frames in these tests are built with gobwas/ws, an
// encoder independent of the probe's decoder.

var (
	wsClient = netip.MustParseAddrPort("192.0.2.50:51234")
	wsServer = netip.MustParseAddrPort("10.0.0.10:8080")
)

const wsUpgradeRequest = "GET /ws HTTP/1.1\r\nHost: sip.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: https://www.example.com\r\n" +
	"Sec-WebSocket-Protocol: sip\r\nSec-WebSocket-Version: 13\r\n\r\n"

const wsUpgradeResponse = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n"

// clientFrame is a masked text frame (RFC 6455 §5.3: clients mask).
func clientFrame(payload []byte) []byte {
	return ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame(payload)))
}

func serverFrame(payload []byte) []byte { return ws.MustCompileFrame(ws.NewTextFrame(payload)) }

// wsCall sets up a SIP-over-WebSocket connection: handshake both ways.
func wsCall(t *testing.T, rec *recorder) (cli, srv *conn) {
	p := newProbe(t)
	cli, srv = newConn(t, p, rec), newConn(t, p, rec)
	cli.src, cli.dst = wsClient, wsServer
	srv.src, srv.dst, srv.seq = wsServer, wsClient, 5_000_000
	cli.send(1, syn, nil)
	srv.send(2, syn|packetACK, nil)
	cli.send(3, ack, []byte(wsUpgradeRequest))
	srv.send(4, ack, []byte(wsUpgradeResponse))
	return cli, srv
}

const packetACK = 1 << 4

func TestWebSocketSIP(t *testing.T) {
	var rec recorder
	cli, srv := wsCall(t, &rec)
	p := cli.p
	inv := invite("ws@x", 200)
	resp := ringing("ws@x")
	cli.send(10, ack, clientFrame(inv))
	srv.send(11, ack, serverFrame(resp))
	// A message split over a text frame and a continuation, masked, in
	// one segment with a ping; then a keep-alive; then a close.
	second := invite("ws2@x", 50)
	frag := slices.Concat(
		ws.MustCompileFrame(ws.MaskFrame(ws.NewFrame(ws.OpText, false, second[:40]))),
		ws.MustCompileFrame(ws.MaskFrame(ws.NewPingFrame([]byte("hi")))),
		ws.MustCompileFrame(ws.MaskFrame(ws.NewFrame(ws.OpContinuation, true, second[40:]))),
	)
	cli.send(12, ack, frag[:30]) // and cut across segments
	cli.send(13, ack, frag[30:])
	cli.send(14, ack, clientFrame([]byte("\r\n\r\n")))
	cli.send(15, ack, ws.MustCompileFrame(ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))))
	evs := wantMessages(t, &rec, event.TransportWS, inv, resp, second)
	if evs[0].Src != wsClient || evs[0].Dst != wsServer || evs[1].Src != wsServer || evs[2].TimeUS != 13 {
		t.Errorf("events %v -> %v, %v, at %d", evs[0].Src, evs[0].Dst, evs[1].Src, evs[2].TimeUS)
	}
	s := p.Stats()
	if s.WebSocketFlows != 1 || s.WebSocketFrames != 7 || s.SIPWS != 3 || s.KeepAlives != 1 || s.Dropped() != 0 {
		t.Errorf("stats %+v", s)
	}
	checkAccounting(t, s)
}

// TestWebSocketNotMalformedSIP: WebSocket traffic the probe cannot or need
// not read (another subprotocol, compressed frames, binary junk) is never
// counted as malformed SIP.
func TestWebSocketNotMalformedSIP(t *testing.T) {
	var rec recorder
	cli, _ := wsCall(t, &rec)
	p := cli.p
	compressed := ws.MustCompileFrame(ws.MaskFrame(ws.Frame{Header: ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText,
		Length: 5}, Payload: []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9}}))
	cli.send(10, ack, compressed)
	cli.send(11, ack, clientFrame([]byte("{\"not\": \"sip\"}")))
	s := p.Stats()
	for r := sipscan.ReasonNone; r < sipscan.NumReasons; r++ {
		if s.MalformedSIP[r] != 0 {
			t.Errorf("malformed SIP counted: %v", s.MalformedSIP)
		}
	}
	if s.WebSocketUnsupported != 1 || s.NotSIP != 1 || len(rec.events) != 0 {
		t.Errorf("stats %+v", s)
	}

	// An upgrade for another subprotocol is not followed.
	q := newProbe(t)
	c := newConn(t, q, &rec)
	c.send(1, syn, nil)
	c.send(2, ack, []byte("GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: chat\r\n\r\n"))
	c.send(3, ack, clientFrame([]byte(`{"msg": "hello"}`)))
	if s := q.Stats(); s.WebSocketFlows != 0 || s.TCPFlows != 0 || s.SIPMessages != 0 || s.MalformedSIP != [sipscan.NumReasons]uint64{} {
		t.Errorf("chat upgrade: stats %+v", s)
	}
}

// TestWebSocketMidStream: a capture that starts after the handshake picks
// the flow up at a frame carrying a SIP start line.
func TestWebSocketMidStream(t *testing.T) {
	p := newProbe(t)
	var rec recorder
	c := newConn(t, p, &rec)
	c.src, c.dst = wsClient, wsServer
	c.send(1, ack, clientFrame([]byte("\r\n\r\n"))) // not recognisable yet
	inv := invite("mid@x", 10)
	c.send(2, ack, clientFrame(inv))
	cut := clientFrame(ringing("mid@x")) // a frame cut over two segments
	c.send(3, ack, cut[:20])
	c.send(4, ack, cut[20:])
	wantMessages(t, &rec, event.TransportWS, inv, ringing("mid@x"))
	if s := p.Stats(); s.WebSocketFlows != 1 || s.NotSIP != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestWebSocketReordered: the frames of a WebSocket flow go through the
// same reordering as SIP over TCP.
func TestWebSocketReordered(t *testing.T) {
	var rec recorder
	cli, _ := wsCall(t, &rec)
	a, b := clientFrame(invite("wa@x", 100)), clientFrame(invite("wb@x", 100))
	start := cli.seq
	cli.sendAt(10, start+uint32(len(a)), ack, b)
	cli.sendAt(11, start, ack, a)
	if got := callIDs2(t, &rec); !slices.Equal(got, []string{"wa@x", "wb@x"}) {
		t.Errorf("events %v", got)
	}
}

func callIDs2(t *testing.T, rec *recorder) []string {
	var out []string
	for _, ev := range rec.decoded(t) {
		out = append(out, string(ev.CallID))
	}
	return out
}
