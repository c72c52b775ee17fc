package bus

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/event"
)

func startBroker(t *testing.T, dir string) *Embedded {
	t.Helper()
	b, err := StartEmbedded(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Events published before a restart, and the group's committed position, are
// still there after it: the embedded broker persists to its DataDir.
func TestEmbeddedPersistsEventsAndOffsets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	topics := Topics{SIP: "test.sip"}
	const n = 5000

	b := startBroker(t, dir)
	if err := EnsureTopics(ctx, b.Addrs(), topics.All(), 4, 1); err != nil {
		t.Fatal(err)
	}
	if err := EnsureTopics(ctx, b.Addrs(), topics.All(), 4, 1); err != nil {
		t.Fatalf("second EnsureTopics must be a no-op: %v", err)
	}
	p := NewProducer(b.Addrs(), topics, ProducerOptions{BatchSize: 700})
	ev := event.SIP{Src: netip.MustParseAddrPort("10.0.0.1:5060"), Dst: netip.MustParseAddrPort("10.0.0.2:5060"), Method: []byte("INVITE")}
	for i := 0; i < n; i++ {
		ev.CallID = fmt.Appendf(ev.CallID[:0], "call-%d", i%100)
		ev.TimeUS = int64(i)
		ev.Raw = fmt.Appendf(ev.Raw[:0], "INVITE %d", i)
		if err := p.SIP(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ends, err := EndOffsets(ctx, b.Addrs(), topics.SIP)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, e := range ends {
		total += e
	}
	if total != n || len(ends) != 4 {
		t.Fatalf("end offsets %v sum %d, want %d over 4 partitions", ends, total, n)
	}

	// Consume half of one partition's messages and commit.
	c, _ := NewConsumer(b.Addrs(), "g", topics.All())
	seen := map[string]int{}
	var m0 struct {
		part int
		off  int64
	}
	for i := 0; i < 100; i++ {
		m, err := c.Fetch(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s event.SIP
		if err := event.DecodeSIP(m.Value, &s); err != nil {
			t.Fatal(err)
		}
		if string(s.CallID) != string(m.Key) {
			t.Fatalf("key %q, call-id %q", m.Key, s.CallID)
		}
		seen[string(m.Key)]++
		m0.part, m0.off = m.Partition, m.Offset
	}
	if err := c.CommitOffset(ctx, topics.SIP, m0.part, m0.off+1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	b.Close()

	b = startBroker(t, dir)
	defer b.Close()
	ends2, err := EndOffsets(ctx, b.Addrs(), topics.SIP)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ends2) != fmt.Sprint(ends) {
		t.Fatalf("after restart end offsets %v, before %v", ends2, ends)
	}
	got, err := CommittedOffsets(ctx, b.Addrs(), "g", topics.SIP, []int{m0.part})
	if err != nil {
		t.Fatal(err)
	}
	if got[m0.part] != m0.off+1 {
		t.Fatalf("committed offset after restart %d, want %d", got[m0.part], m0.off+1)
	}
}
