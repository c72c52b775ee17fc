package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/trunkscope/trunkscope/event"
)

// Producer publishes events in batches. Encoded events are appended to one
// arena per batch and the kafka.Message slice is reused, so publishing does
// not allocate per event in steady state. Not safe for concurrent use.
type Producer struct {
	w       *kafka.Writer
	topics  Topics
	batch   int
	arena   []byte
	offsets []int // start of each message's value in arena; key follows value
	keys    []int
	msgs    []kafka.Message
	sent    int64
}

// ProducerOptions tune the producer.
type ProducerOptions struct {
	// BatchSize is how many events are buffered before a write, default 2000.
	BatchSize int
	// Acks is the required acknowledgements: -1 all (default), 1 leader.
	Acks int
}

// NewProducer returns a producer on brokers.
func NewProducer(brokers []string, topics Topics, o ProducerOptions) *Producer {
	if o.BatchSize <= 0 {
		o.BatchSize = 2000
	}
	acks := kafka.RequireAll
	if o.Acks == 1 {
		acks = kafka.RequireOne
	}
	return &Producer{
		w: &kafka.Writer{
			Addr: kafka.TCP(brokers...),
			// Murmur2 is the Java client's default partitioner: a Call-ID
			// lands on the same partition whoever produces it.
			Balancer:     &kafka.Murmur2Balancer{},
			RequiredAcks: acks,
			BatchSize:    o.BatchSize,
			BatchBytes:   64 << 20,
			BatchTimeout: 5 * time.Millisecond,
			Compression:  kafka.Lz4,
		},
		topics: topics,
		batch:  o.BatchSize,
	}
}

// SIP encodes ev and queues it, keyed by Call-ID; it writes the batch when
// full. It implements the probe's sink: ev may be reused once it returns.
func (p *Producer) SIP(ev *event.SIP) error {
	start := len(p.arena)
	p.arena = event.AppendSIP(p.arena, ev)
	mid := len(p.arena)
	p.arena = append(p.arena, ev.CallID...)
	p.offsets = append(p.offsets, start, mid)
	p.keys = append(p.keys, len(p.arena))
	if len(p.keys) >= p.batch {
		return p.Flush(context.Background())
	}
	return nil
}

// Flush writes every queued event and waits for the acknowledgements.
func (p *Producer) Flush(ctx context.Context) error {
	if len(p.keys) == 0 {
		return nil
	}
	p.msgs = p.msgs[:0]
	for i, end := range p.keys {
		start, mid := p.offsets[2*i], p.offsets[2*i+1]
		p.msgs = append(p.msgs, kafka.Message{
			Topic: p.topics.SIP,
			Key:   p.arena[mid:end:end],
			Value: p.arena[start:mid:mid],
		})
	}
	if err := p.w.WriteMessages(ctx, p.msgs...); err != nil {
		return fmt.Errorf("bus: publishing %d events: %w", len(p.msgs), err)
	}
	p.sent += int64(len(p.msgs))
	p.arena, p.offsets, p.keys = p.arena[:0], p.offsets[:0], p.keys[:0]
	return nil
}

// Sent returns how many events were acknowledged.
func (p *Producer) Sent() int64 { return p.sent }

// Close flushes and closes the writer.
func (p *Producer) Close(ctx context.Context) error {
	ferr := p.Flush(ctx)
	if err := p.w.Close(); err != nil && ferr == nil {
		ferr = fmt.Errorf("bus: closing producer: %w", err)
	}
	return ferr
}
