package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/bus/kafkatest"
	"github.com/trunkscope/trunkscope/event"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kafkatest.StopShared()
	os.Exit(code)
}

// broker is a running Kafka-protocol broker for a test: the embedded kfake
// or Apache Kafka. The same test bodies run against both.
type broker struct {
	addrs   func() []string
	restart func(t *testing.T)
}

var backends = []struct {
	name  string
	start func(t *testing.T) broker
}{
	{"kfake", func(t *testing.T) broker {
		dir := t.TempDir()
		b := startBroker(t, dir)
		t.Cleanup(func() { b.Close() })
		return broker{
			addrs: func() []string { return b.Addrs() },
			restart: func(t *testing.T) {
				b.Close()
				b = startBroker(t, dir)
			},
		}
	}},
	{"kafka", func(t *testing.T) broker {
		b := kafkatest.Shared(t)
		return broker{
			addrs: func() []string { return []string{b.Addr} },
			restart: func(t *testing.T) {
				if err := b.Restart(); err != nil {
					t.Fatal(err)
				}
			},
		}
	}},
}

// forEachBroker runs body against each backend, with topic and group names
// of the test's own (the Kafka broker is shared by the package's tests).
func forEachBroker(t *testing.T, body func(t *testing.T, b broker, prefix string)) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			prefix := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
			body(t, be.start(t), prefix)
		})
	}
}

func startBroker(t *testing.T, dir string) *Embedded {
	t.Helper()
	b, err := StartEmbedded(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishCalls publishes n SIP events over calls Call-IDs; event i has
// TimeUS i, so a consumer can check per-call order.
func publishCalls(t *testing.T, p *Producer, n, calls, offset int) {
	t.Helper()
	ev := event.SIP{Src: netip.MustParseAddrPort("10.0.0.1:5060"), Dst: netip.MustParseAddrPort("10.0.0.2:5060"), Method: []byte("INVITE")}
	for i := offset; i < offset+n; i++ {
		ev.CallID = fmt.Appendf(ev.CallID[:0], "call-%d", i%calls)
		ev.TimeUS = int64(i)
		ev.Raw = fmt.Appendf(ev.Raw[:0], "INVITE %d", i)
		if err := p.SIP(&ev); err != nil {
			t.Fatal(err)
		}
	}
}

// Events published before a restart, and the group's committed position, are
// still there after it: kfake persists to its DataDir, Kafka to its log.
func TestPersistsEventsAndOffsets(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker, prefix string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		topics := Topics{SIP: prefix + ".sip"}
		const n = 5000

		if err := EnsureTopics(ctx, b.addrs(), topics.All(), 4, 1); err != nil {
			t.Fatal(err)
		}
		if err := EnsureTopics(ctx, b.addrs(), topics.All(), 4, 1); err != nil {
			t.Fatalf("second EnsureTopics must be a no-op: %v", err)
		}
		p := NewProducer(b.addrs(), topics, ProducerOptions{BatchSize: 700})
		publishCalls(t, p, n, 100, 0)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if p.Sent() != n {
			t.Fatalf("sent %d, want %d", p.Sent(), n)
		}
		ends, err := EndOffsets(ctx, b.addrs(), topics.SIP)
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

		// Consume some messages and commit the last one's partition.
		c, _ := NewConsumer(b.addrs(), prefix+".g", topics.All())
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
			m0.part, m0.off = m.Partition, m.Offset
		}
		if err := c.CommitOffset(ctx, topics.SIP, m0.part, m0.off+1); err != nil {
			t.Fatal(err)
		}
		c.Close()

		b.restart(t)
		ends2, err := EndOffsets(ctx, b.addrs(), topics.SIP)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ends2) != fmt.Sprint(ends) {
			t.Fatalf("after restart end offsets %v, before %v", ends2, ends)
		}
		got, err := CommittedOffsets(ctx, b.addrs(), prefix+".g", topics.SIP, []int{m0.part})
		if err != nil {
			t.Fatal(err)
		}
		if got[m0.part] != m0.off+1 {
			t.Fatalf("committed offset after restart %d, want %d", got[m0.part], m0.off+1)
		}
		// The group resumes where it committed.
		c, _ = NewConsumer(b.addrs(), prefix+".g", topics.All())
		defer c.Close()
		for {
			m, err := c.Fetch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Partition == m0.part {
				if m.Offset != m0.off+1 {
					t.Fatalf("resumed partition %d at %d, want %d", m.Partition, m.Offset, m0.off+1)
				}
				break
			}
		}
	})
}

type consumed struct {
	member int
	rec    Record
	timeUS int64
}

// Two members of one group share the partitions: every message reaches
// exactly one of them, a call's events stay on one partition in order, and
// when a member leaves, the other takes over its partitions from the
// committed offsets, losing nothing.
func TestConsumerGroupSharesPartitions(t *testing.T) {
	forEachBroker(t, func(t *testing.T, b broker, prefix string) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		topics := Topics{SIP: prefix + ".sip"}
		group := prefix + ".g"
		if err := EnsureTopics(ctx, b.addrs(), topics.All(), 6, 1); err != nil {
			t.Fatal(err)
		}
		out := make(chan consumed, 4096)
		var wg sync.WaitGroup
		members := make([]*Consumer, 2)
		mctx, mcancel := context.WithCancel(ctx)
		defer mcancel()
		for i := range members {
			c, err := NewConsumer(b.addrs(), group, topics.All())
			if err != nil {
				t.Fatal(err)
			}
			members[i] = c
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m, err := c.Fetch(mctx)
					if err != nil {
						return
					}
					var s event.SIP
					if err := event.DecodeSIP(m.Value, &s); err != nil {
						t.Error(err)
						return
					}
					if err := c.CommitOffset(mctx, m.Topic, m.Partition, m.Offset+1); err != nil {
						return
					}
					out <- consumed{member: i, rec: m, timeUS: s.TimeUS}
				}
			}()
		}
		defer func() {
			mcancel()
			for _, c := range members {
				if c != nil {
					c.Close()
				}
			}
			wg.Wait()
		}()
		waitGroup(t, ctx, b, group, 2)

		k := Cluster{Brokers: b.addrs()}
		p := k.NewProducer(topics, ProducerOptions{BatchSize: 100, Acks: 1, Compression: "zstd", Linger: 20 * time.Millisecond})
		const n, calls = 1200, 60
		publishCalls(t, p, n, calls, 0)
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got := collect(t, ctx, out, n)
		owner := map[int]int{}     // partition -> member
		partOf := map[string]int{} // call -> partition
		last := map[string]int64{} // call -> last time seen
		seen := map[int64]bool{}
		perMember := [2]int{}
		for _, c := range got {
			if seen[c.timeUS] {
				t.Fatalf("event %d delivered twice in a stable group", c.timeUS)
			}
			seen[c.timeUS] = true
			perMember[c.member]++
			if o, ok := owner[c.rec.Partition]; ok && o != c.member {
				t.Fatalf("partition %d consumed by both members", c.rec.Partition)
			}
			owner[c.rec.Partition] = c.member
			key := string(c.rec.Key)
			if p, ok := partOf[key]; ok && p != c.rec.Partition {
				t.Fatalf("call %s on partitions %d and %d", key, p, c.rec.Partition)
			}
			partOf[key] = c.rec.Partition
			if c.timeUS < last[key] {
				t.Fatalf("call %s out of order: %d after %d", key, c.timeUS, last[key])
			}
			last[key] = c.timeUS
		}
		if len(owner) != 6 || perMember[0] == 0 || perMember[1] == 0 {
			t.Fatalf("partitions owned %v, per member %v: want 6 partitions shared by both", owner, perMember)
		}

		// Member 1 leaves: member 0 takes every partition over.
		members[1].Close()
		members[1] = nil
		waitGroup(t, ctx, b, group, 1)
		publishCalls(t, p, n, calls, n)
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range collect(t, ctx, out, n) {
			if c.member != 0 || c.timeUS < n || seen[c.timeUS] {
				t.Fatalf("after the rebalance: member %d got event %d (seen before: %v)", c.member, c.timeUS, seen[c.timeUS])
			}
			seen[c.timeUS] = true
		}
	})
}

func collect(t *testing.T, ctx context.Context, out chan consumed, n int) []consumed {
	t.Helper()
	var got []consumed
	for len(got) < n {
		select {
		case c := <-out:
			got = append(got, c)
		case <-ctx.Done():
			t.Fatalf("consumed %d of %d", len(got), n)
		}
	}
	return got
}

// waitGroup waits until the group is stable with n members.
func waitGroup(t *testing.T, ctx context.Context, b broker, group string, n int) {
	t.Helper()
	k := Cluster{Brokers: b.addrs()}
	for {
		state, members, err := k.GroupState(ctx, group)
		if err == nil && state == "Stable" && members == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s: state %q with %d members (%v), want Stable with %d", group, state, members, err, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// The SASL listener of the real broker accepts PLAIN and SCRAM with the
// right password and refuses a wrong one.
func TestKafkaSASL(t *testing.T) {
	kb := kafkatest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, tc := range []struct{ mech, user, pass string }{
		{"PLAIN", kafkatest.PlainUser, kafkatest.PlainPassword},
		{"SCRAM-SHA-256", kafkatest.ScramUser, kafkatest.ScramPassword},
		{"SCRAM-SHA-512", kafkatest.ScramUser, kafkatest.ScramPassword},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			mech, err := NewSASL(tc.mech, tc.user, tc.pass)
			if err != nil {
				t.Fatal(err)
			}
			k := Cluster{Brokers: []string{kb.SASLAddr}, SASL: mech, ClientID: "trunkscope-test"}
			topics := Topics{SIP: "sasl." + tc.mech}
			if err := k.EnsureTopics(ctx, topics.All(), 2, 1); err != nil {
				t.Fatal(err)
			}
			p := k.NewProducer(topics, ProducerOptions{})
			publishCalls(t, p, 10, 3, 0)
			if err := p.Close(ctx); err != nil {
				t.Fatal(err)
			}
			c, _ := k.NewConsumer("sasl-g-"+tc.mech, topics.All())
			defer c.Close()
			for i := 0; i < 10; i++ {
				if _, err := c.Fetch(ctx); err != nil {
					t.Fatal(err)
				}
			}

			bad, _ := NewSASL(tc.mech, tc.user, "wrong")
			k.SASL = bad
			if _, err := k.EndOffsets(ctx, topics.SIP); err == nil {
				t.Fatal("a wrong password was accepted")
			}
		})
	}
	if _, err := NewSASL("GSSAPI", "u", "p"); err == nil {
		t.Fatal("GSSAPI accepted")
	}
}

// The SASL_SSL listener: TLS verified against the test CA, SCRAM on top;
// a client that does not trust the CA is refused.
func TestKafkaTLS(t *testing.T) {
	kb := kafkatest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pem, err := os.ReadFile(kb.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	mech, _ := NewSASL("SCRAM-SHA-512", kafkatest.ScramUser, kafkatest.ScramPassword)
	k := Cluster{Brokers: []string{kb.TLSAddr}, TLS: &tls.Config{RootCAs: pool}, SASL: mech}
	topics := Topics{SIP: "tls.sip"}
	if err := k.EnsureTopics(ctx, topics.All(), 2, 1); err != nil {
		t.Fatal(err)
	}
	p := k.NewProducer(topics, ProducerOptions{})
	publishCalls(t, p, 20, 4, 0)
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c, _ := k.NewConsumer("tls-g", topics.All())
	defer c.Close()
	for i := 0; i < 20; i++ {
		if _, err := c.Fetch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	k.TLS = &tls.Config{} // system roots: the test CA is not among them
	if _, err := k.EndOffsets(ctx, topics.SIP); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusted server certificate was accepted: %v", err)
	}
}
