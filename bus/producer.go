package bus

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trunkscope/trunkscope/event"
)

// Producer publishes events in batches. Encoded events are appended to one
// arena per batch and the kafka.Message slice is reused, so publishing does
// not allocate per event in steady state. It is safe for concurrent use
// (live capture and HEP listeners share one); live inputs also call
// FlushEvery so a quiet trunk's events do not wait for a full batch.
type Producer struct {
	mu      sync.Mutex
	w       *kafka.Writer
	topics  Topics
	batch   int
	arena   []byte
	offsets []int // start of each message's value in arena; key follows value
	keys    []int
	topicOf []string // the topic of each queued message
	msgs    []kafka.Message
	sent    int64
}

// ProducerOptions tune the producer.
type ProducerOptions struct {
	// BatchSize is how many events are buffered before a write, default 2000.
	BatchSize int
	// Acks is the required acknowledgements: -1 all (default), 1 leader,
	// 0 none (fire and forget: events can be lost).
	Acks int
	// Linger is how long a partial batch waits, default 5ms.
	Linger time.Duration
	// BatchBytes caps a request, default 64 MiB.
	BatchBytes int
	// Compression is "lz4" (default), "zstd", "snappy", "gzip" or "none".
	Compression string
}

// NewProducer returns a producer on brokers.
func NewProducer(brokers []string, topics Topics, o ProducerOptions) *Producer {
	return Cluster{Brokers: brokers}.NewProducer(topics, o)
}

// NewProducer returns a producer on the cluster.
func (k Cluster) NewProducer(topics Topics, o ProducerOptions) *Producer {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	if o.Linger <= 0 {
		o.Linger = 5 * time.Millisecond
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 64 << 20
	}
	acks := kafka.RequireAll
	switch o.Acks {
	case 1:
		acks = kafka.RequireOne
	case 0:
		// The zero value means "unset" for callers that predate the
		// option: all. "none" is spelled -2 (AcksNone).
	case AcksNone:
		acks = kafka.RequireNone
	}
	codec := kafka.Lz4
	switch o.Compression {
	case "zstd":
		codec = kafka.Zstd
	case "snappy":
		codec = kafka.Snappy
	case "gzip":
		codec = kafka.Gzip
	case "none":
		codec = 0
	}
	return &Producer{
		w: &kafka.Writer{
			Addr:      kafka.TCP(k.Brokers...),
			Transport: k.transport(),
			// Murmur2 is the Java client's default partitioner: a Call-ID
			// lands on the same partition whoever produces it.
			Balancer:     &kafka.Murmur2Balancer{},
			RequiredAcks: acks,
			BatchSize:    o.BatchSize,
			BatchBytes:   int64(o.BatchBytes),
			BatchTimeout: o.Linger,
			Compression:  codec,
		},
		topics: topics,
		batch:  o.BatchSize,
	}
}

// AcksNone in ProducerOptions.Acks asks for no acknowledgement.
const AcksNone = -2

// SIP encodes ev and queues it, keyed by Call-ID; it writes the batch when
// full. It implements the probe's sink: ev may be reused once it returns.
func (p *Producer) SIP(ev *event.SIP) error {
	return p.enqueue(p.topics.SIP, ev.CallID, netip.AddrPort{}, func(b []byte) []byte { return event.AppendSIP(b, ev) })
}

// RTCP encodes r and queues it on the RTCP topic, keyed like RTP reports.
func (p *Producer) RTCP(r *event.RTCP) error {
	return p.enqueue(p.topics.RTCP, r.CallID, r.Src, func(b []byte) []byte { return event.AppendRTCP(b, r) })
}

// RTPReport encodes r and queues it on the RTP topic, keyed by its Call-ID
// (or, for a stream no signalling tied to a call, its source address, so a
// stream's reports stay in order). It implements the media tracker's sink.
func (p *Producer) RTPReport(r *event.RTPReport) error {
	return p.enqueue(p.topics.RTP, r.CallID, r.Src, func(b []byte) []byte { return event.AppendRTPReport(b, r) })
}

// enqueue appends an encoded event and its key (callID, or src when there
// is none) to the arena and writes the batch when full.
func (p *Producer) enqueue(topic string, callID []byte, src netip.AddrPort, encode func([]byte) []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := len(p.arena)
	p.arena = encode(p.arena)
	mid := len(p.arena)
	if len(callID) > 0 || !src.IsValid() {
		p.arena = append(p.arena, callID...)
	} else {
		p.arena = src.AppendTo(p.arena)
	}
	p.offsets = append(p.offsets, start, mid)
	p.keys = append(p.keys, len(p.arena))
	p.topicOf = append(p.topicOf, topic)
	if len(p.keys) >= p.batch {
		return p.flush(context.Background())
	}
	return nil
}

// Flush writes every queued event and waits for the acknowledgements.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flush(ctx)
}

// FlushEvery flushes every d until ctx is done; errors are reported to
// onErr (the events stay queued and the next flush retries them).
func (p *Producer) FlushEvery(ctx context.Context, d time.Duration, onErr func(error)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := p.Flush(ctx); err != nil && ctx.Err() == nil {
				onErr(err)
			}
		}
	}
}

func (p *Producer) flush(ctx context.Context) error {
	if len(p.keys) == 0 {
		return nil
	}
	p.msgs = p.msgs[:0]
	for i, end := range p.keys {
		start, mid := p.offsets[2*i], p.offsets[2*i+1]
		p.msgs = append(p.msgs, kafka.Message{
			Topic: p.topicOf[i],
			Key:   p.arena[mid:end:end],
			Value: p.arena[start:mid:mid],
		})
	}
	if err := p.w.WriteMessages(ctx, p.msgs...); err != nil {
		return fmt.Errorf("bus: publishing %d events: %w", len(p.msgs), err)
	}
	p.sent += int64(len(p.msgs))
	p.arena, p.offsets, p.keys, p.topicOf = p.arena[:0], p.offsets[:0], p.keys[:0], p.topicOf[:0]
	return nil
}

// Sent returns how many events were acknowledged.
func (p *Producer) Sent() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent
}

// Close flushes and closes the writer.
func (p *Producer) Close(ctx context.Context) error {
	ferr := p.Flush(ctx)
	if err := p.w.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("bus: closing producer: %w", err)
	}
	return ferr
}
