package media

import (
	"net/netip"
	"testing"
)

// FuzzLearn feeds arbitrary descriptions, Ends and Advances to a small
// table and checks it stays consistent and that every entry is found at its
// own RTP address.
func FuzzLearn(f *testing.F) {
	f.Add(offerAV, answerAV, uint8(0), uint16(3))
	f.Add(audio(alice, "192.0.2.10", 5000, "0", "a=rtcp-mux"), audio(bob, "192.0.2.10", 5001, "0", "a=rtcp:5000"), uint8(1), uint16(0))
	f.Add(crlf("v=0", "c=IN IP4 0.0.0.0", "m=audio 1 RTP/AVP 0"), crlf("v=0", "m=audio 0 RTP/AVP 0", "m=audio 65535 RTP/AVP 0"), uint8(2), uint16(9))
	f.Fuzz(func(t *testing.T, a, b []byte, op uint8, n uint16) {
		tb, err := New(MaxEntries(8), Linger(0))
		if err != nil {
			t.Fatal(err)
		}
		sender := netip.MustParseAddr("192.0.2.200")
		ids := [][]byte{[]byte("x"), []byte("y"), []byte("z")}
		for step := 0; step < 12; step++ {
			ts := int64(step) * int64(n) * 1000
			body := a
			if step%2 == 1 {
				body = b
			}
			id := ids[(int(op)+step)%len(ids)]
			_ = tb.Learn(ts, id, step%3 != 1, body, sender)
			switch (int(op) >> (step % 8)) & 3 {
			case 1:
				tb.End(ts, id)
			case 2:
				tb.Advance(ts + int64(n)*1_000_000)
			}
			if err := check(tb); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			for i := range tb.entries {
				e := &tb.entries[i]
				if e.flags&flagUsed == 0 {
					continue
				}
				got, isRTCP, ok := tb.Lookup(e.RTP())
				if !ok || got != e || isRTCP {
					t.Fatalf("entry %d not found at its RTP address %v", i, e.RTP())
				}
				tb.Touch(e, ts)
				_, _ = tb.Peer(e)
				for pt := range e.Codecs() {
					if _, ok := e.Codec(pt); !ok {
						t.Fatalf("listed payload type %d has no codec", pt)
					}
				}
			}
		}
	})
}
