package active

import (
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

func resp(code int, reason, callID string, cseq int) string {
	return "SIP/2.0 " + itoa(code) + " " + reason + "\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n" +
		"To: <sip:c@d>;tag=2\r\nCall-ID: " + callID + "\r\nCSeq: " + itoa(cseq) + " INVITE\r\nContent-Length: 0\r\n\r\n"
}

// Responses are stamped when their bytes are read, whatever order they
// are parsed and delivered in; a message split over two reads is stamped
// at the read that completes it; bytes that are not SIP are noted.
func TestWireClock(t *testing.T) {
	w := newWireClock()
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	w.watch("c1")
	local, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:40000")
	remote, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:5060")
	info := sip.TransportReadProps{Transport: "TCP", LocalAddr: local, RemoteAddr: remote}
	ringing, ok := resp(180, "Ringing", "c1", 7), resp(200, "OK", "c1", 7)
	// Read 1 at t=1000.300: the whole 180 and the first half of the 200.
	now = now.Add(300 * time.Millisecond)
	w.filter(info, []byte(ringing+ok[:40]))
	// Read 2 at t=1000.900: the rest of the 200, a response to another
	// call, and a keep-alive.
	now = now.Add(600 * time.Millisecond)
	w.filter(info, []byte(ok[40:]+resp(200, "OK", "other", 1)+"\r\n\r\n"))
	at, code, found := w.first("c1", "INVITE", 180, 189)
	if !found || code != 180 || !at.Equal(time.Unix(1000, 300e6)) {
		t.Fatalf("180 at %v (%v)", at, found)
	}
	if at, ok := w.at("c1", 7, "INVITE", 200); !ok || !at.Equal(time.Unix(1000, 900e6)) {
		t.Fatalf("200 at %v (%v)", at, ok)
	}
	if _, _, found := w.first("other", "INVITE", 200, 200); found {
		t.Fatal("an unwatched call was recorded")
	}
	if len(w.streams) != 0 {
		t.Fatalf("stream buffer left: %q", w.streams)
	}
	// Garbage from a UDP peer is noted against its address.
	udp := sip.TransportReadProps{Transport: "UDP", LocalAddr: local, RemoteAddr: remote}
	w.filter(udp, []byte("SIP/2.0 200 OK\r\nno colon here\r\n\r\n"))
	if why, bad := w.badSince(remote.String(), now); !bad || why == "" {
		t.Fatal("malformed response not noted")
	}
	if _, bad := w.badSince(remote.String(), now.Add(time.Second)); bad {
		t.Fatal("old garbage counted for a later ping")
	}
	w.forget("c1")
	if _, _, found := w.first("c1", "INVITE", 100, 699); found {
		t.Fatal("forgotten call still there")
	}
}

func FuzzWireClock(f *testing.F) {
	f.Add([]byte(resp(180, "Ringing", "c1", 1)), 10)
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 99999999\r\n\r\n"), 3)
	f.Fuzz(func(t *testing.T, b []byte, split int) {
		w := newWireClock()
		w.watch("c1")
		local, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:40000")
		for _, tr := range []string{"TCP", "UDP"} {
			info := sip.TransportReadProps{Transport: tr, LocalAddr: local, RemoteAddr: local}
			if split < 0 || split > len(b) {
				split = len(b) / 2
			}
			w.filter(info, b[:split])
			w.filter(info, b[split:])
		}
		if len(w.calls["c1"]) > maxArrivalsPerCall {
			t.Fatal("unbounded")
		}
	})
}
