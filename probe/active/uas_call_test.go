package active

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
	"github.com/trunkscope/trunkscope/probe/mos"
)

func shortCall(to string) CallOptions {
	return CallOptions{To: to, Duration: time.Second, Timeout: 2 * time.Second, RingTimeout: 3 * time.Second}
}

func logSteps(t *testing.T, r *CallReport) {
	t.Helper()
	for _, s := range r.Steps {
		t.Logf("%8v %s", s.At.Round(time.Millisecond), s.What)
	}
}

func TestCallDigestAuth(t *testing.T) {
	for _, tc := range []struct {
		name      string
		challenge int
		qop       bool
		pass      string
		want      event.CallResult
		code      uint16
	}{
		{"401", 401, false, "s3cret", event.CallAnswered, 200},
		{"407 qop", 407, true, "s3cret", event.CallAnswered, 200},
		{"401 wrong password", 401, true, "wrong-pw", event.CallRejected, 401},
		{"407 wrong password", 407, false, "wrong-pw", event.CallRejected, 407},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startUAS(t, "udp", uasConfig{Challenge: tc.challenge, QOP: tc.qop, User: "probe", Pass: "s3cret"})
			o := shortCall("100")
			o.Auth = &Credentials{Username: "probe", Password: tc.pass}
			r := Call(context.Background(), Target{Trunk: "t", URI: u.uri()}, o)
			logSteps(t, r)
			if r.Result != tc.want || r.Code != tc.code {
				t.Fatalf("got %v %d (%s), want %v %d", r.Result, r.Code, r.Detail, tc.want, tc.code)
			}
			if tc.want == event.CallAnswered && (u.authOK.Load() != 1 || r.RTP.Packets == 0) {
				t.Fatalf("UAS accepted %d digests, %d rejected; rx %d", u.authOK.Load(), u.authBad.Load(), r.RTP.Packets)
			}
			if tc.want == event.CallRejected && (u.authOK.Load() != 0 || u.authBad.Load() == 0 || r.Detail != "credentials rejected") {
				t.Fatalf("UAS accepted %d, rejected %d; detail %q", u.authOK.Load(), u.authBad.Load(), r.Detail)
			}
			// Credentials appear nowhere in what the probe reports.
			ev := r.Event("p", "t")
			all := string(event.AppendTestCall(nil, ev)) + r.Detail + r.URI
			for _, s := range r.Steps {
				all += s.What
			}
			if strings.Contains(all, tc.pass) || strings.Contains(all, "Authorization") {
				t.Fatal("credentials in the report")
			}
		})
	}
	t.Run("challenge without credentials", func(t *testing.T) {
		u := startUAS(t, "udp", uasConfig{Challenge: 407, User: "probe", Pass: "s3cret"})
		r := Call(context.Background(), Target{Trunk: "t", URI: u.uri()}, shortCall("100"))
		if r.Result != event.CallRejected || r.Code != 407 || !strings.Contains(r.Detail, "none configured") {
			t.Fatalf("got %v %d %q", r.Result, r.Code, r.Detail)
		}
	})
}

func TestTLS(t *testing.T) {
	cert, pool := testCert(t)
	u := startUAS(t, "tls", uasConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	target := Target{Trunk: "t", URI: "sips:" + u.addr.String(), RootCAs: pool}
	pg, err := NewPinger(target, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if r := pg.Ping(context.Background()); !r.OK() || r.Code != 200 || pg.Transport() != "TLS" {
		t.Fatalf("TLS ping: %+v", r)
	}
	r := Call(context.Background(), target, shortCall("100"))
	logSteps(t, r)
	if r.Result != event.CallAnswered || r.RTP.Packets == 0 {
		t.Fatalf("TLS call: %v %s", r.Result, r.Detail)
	}
	// Without the CA the certificate is unknown: a clear TLS result.
	untrusted := Target{Trunk: "t", URI: "sip:" + u.addr.String(), Transport: "tls"}
	pg2, err := NewPinger(untrusted, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pg2.Close()
	if r := pg2.Ping(context.Background()); r.Result != event.PingTLS || !strings.Contains(r.Detail, "unknown authority") {
		t.Fatalf("untrusted: %v %q", r.Result, r.Detail)
	}
	if r := Call(context.Background(), untrusted, shortCall("100")); r.Result != event.CallError || !strings.Contains(r.Detail, "unknown authority") {
		t.Fatalf("untrusted call: %v %q", r.Result, r.Detail)
	}
	// --insecure (labs): verification skipped, the ping succeeds.
	untrusted.Insecure = true
	pg3, err := NewPinger(untrusted, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pg3.Close()
	if r := pg3.Ping(context.Background()); !r.OK() {
		t.Fatalf("insecure: %+v", r)
	}
}

// The far end drops every 10th echoed packet and delays every 7th by
// 40 ms: the measured loss is the pattern's, and the MOS is the E-model's
// value for it (G.711 with PLC: Ie 0, Bpl 25.1; isolated losses give
// p = 1/9, q = 1, BurstR = 1/(p+q) = 0.9).
func TestImpairedMedia(t *testing.T) {
	u := startUAS(t, "udp", uasConfig{
		Drop: func(i int) bool { return i%10 == 5 },
		Delay: func(i int) time.Duration {
			if i%7 == 3 {
				return 40 * time.Millisecond
			}
			return 0
		},
	})
	o := shortCall("100")
	o.Duration = 2 * time.Second // 100 packets
	r := Call(context.Background(), Target{Trunk: "t", URI: u.uri()}, o)
	if r.Result != event.CallAnswered || r.Sent != 100 {
		t.Fatalf("%v sent %d: %s", r.Result, r.Sent, r.Detail)
	}
	rx := r.RTP
	t.Logf("rx %d expected %d lost %d (%.1f%%) burstR %.3f jitter %.2f ms MOS %.3f", rx.Packets, rx.Expected, rx.Lost, rx.LossPercent, rx.BurstR, rx.MeanJitterMS, rx.MOS)
	if rx.Expected != 100 || rx.Lost != 10 || rx.LossPercent != 10 || rx.LossBursts != 10 || rx.Reordered == 0 {
		t.Fatalf("loss does not follow the pattern: %+v", rx)
	}
	want := mos.MOS(mos.G711(), 10, mos.BurstR(1.0/9, 1), 0)
	if math.Abs(rx.MOS-want) > 0.02 || rx.MOS > 3.6 {
		t.Fatalf("MOS %.3f, E-model for the pattern %.3f", rx.MOS, want)
	}
	if rx.MeanJitterMS < 1 {
		t.Fatalf("delays of 40 ms left jitter at %.2f ms", rx.MeanJitterMS)
	}
	ev := r.Event("p", "t")
	if ev.RxLost != 10 || ev.MOSx1000 != uint16(rx.MOS*1000+0.5) || ev.RxPackets != uint32(rx.Packets) {
		t.Fatalf("event %+v", ev)
	}
}

// PDD and setup come from when the 180 and 200 came off the socket.
func TestCallTimings(t *testing.T) {
	u := startUAS(t, "tcp", uasConfig{RingAfter: 300 * time.Millisecond, AnswerAfter: 400 * time.Millisecond})
	r := Call(context.Background(), Target{Trunk: "t", URI: u.uri(), Transport: "tcp"}, shortCall("100"))
	logSteps(t, r)
	if r.Result != event.CallAnswered {
		t.Fatalf("%v %s", r.Result, r.Detail)
	}
	if r.PDD < 300*time.Millisecond || r.PDD > 600*time.Millisecond || r.Setup < r.PDD+400*time.Millisecond || r.Setup > 1500*time.Millisecond {
		t.Fatalf("pdd %v setup %v", r.PDD, r.Setup)
	}
}

// Answered, but the far end sends no audio back: one-way audio.
func TestCallOneWayAudio(t *testing.T) {
	u := startUAS(t, "udp", uasConfig{Drop: func(int) bool { return true }})
	r := Call(context.Background(), Target{Trunk: "t", URI: u.uri()}, shortCall("100"))
	if r.Result != event.CallOneWayAudio || r.Code != 200 || r.Sent < 45 || r.HasRTP || !strings.Contains(r.Detail, "no RTP") {
		t.Fatalf("%v %d sent %d rx %v: %s", r.Result, r.Code, r.Sent, r.HasRTP, r.Detail)
	}
	if ev := r.Event("p", "t"); ev.RxPackets != 0 || ev.TxPackets != uint32(r.Sent) || ev.MOSx1000 != 0 {
		t.Fatalf("event %+v", ev)
	}
}

// From, To, User-Agent and the source address are the configured ones, as
// the far end sees them.
func TestPingHeadersAndSource(t *testing.T) {
	u := startUAS(t, "udp", uasConfig{})
	pg, err := NewPinger(Target{Trunk: "t", URI: u.uri(), From: "sip:noc@probe.example", To: "sip:carrier@sbc.example",
		UserAgent: "noc-probe/1", Source: netip.MustParseAddr("127.0.0.2")}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if r := pg.Ping(context.Background()); !r.OK() {
		t.Fatalf("%+v", r)
	}
	u.mu.Lock()
	req := u.lastOptions
	u.mu.Unlock()
	src, _, _ := strings.Cut(req.Source(), ":")
	if src != "127.0.0.2" || req.From().Address.String() != "sip:noc@probe.example" || req.To().Address.String() != "sip:carrier@sbc.example" ||
		req.GetHeader("User-Agent").Value() != "noc-probe/1" {
		t.Fatalf("source %s from %s to %s ua %s", req.Source(), req.From().Address.String(), req.To().Address.String(), req.GetHeader("User-Agent").Value())
	}
}

// Calls to what is not a SIP peer end as classified errors, at once or
// at the deadline, never at Timer B.
func TestCallFaults(t *testing.T) {
	closed := freePort(t)
	garbage := garbagePeer(t, "SIP/2.0 180 Ringing\r\nno colon\r\n\r\n")
	for _, tc := range []struct{ name, uri, transport, want string }{
		{"closed udp port", fmt.Sprintf("sip:127.0.0.1:%d", closed), "udp", "port unreachable"},
		{"refused tcp", fmt.Sprintf("sip:127.0.0.1:%d", closed), "tcp", "connection refused"},
		{"unresolvable", "sip:no-such-host.invalid", "udp", "does not resolve"},
		{"malformed responses", "sip:" + garbage.LocalAddr().String(), "udp", "unparsable response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			o := shortCall("100")
			o.Timeout = 700 * time.Millisecond
			r := Call(context.Background(), Target{Trunk: "t", URI: tc.uri, Transport: tc.transport}, o)
			if r.Result != event.CallError || !strings.Contains(r.Detail, tc.want) || time.Since(start) > 5*time.Second {
				t.Fatalf("%v %q after %v", r.Result, r.Detail, time.Since(start))
			}
		})
	}
}
