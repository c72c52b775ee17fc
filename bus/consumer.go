package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Consumer reads topics as a member of a consumer group. Offsets are
// committed only when the caller says so (CommitOffset), after the effects
// of the messages are stored: at-least-once delivery with no loss.
type Consumer struct {
	r *kafka.Reader
}

// NewConsumer joins group on brokers for topics.
func NewConsumer(brokers []string, group string, topics []string) (*Consumer, error) {
	return Cluster{Brokers: brokers}.NewConsumer(group, topics)
}

// NewConsumer joins group on the cluster for topics.
func (k Cluster) NewConsumer(group string, topics []string) (*Consumer, error) {
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:     k.Brokers,
		Dialer:      k.dialer(),
		GroupID:     group,
		GroupTopics: topics,
		MinBytes:    1,
		MaxBytes:    16 << 20,
		// A short fetch wait keeps end-of-input detection and live latency
		// low; kafka-go's default is 10 s.
		MaxWait:           200 * time.Millisecond,
		ReadBatchTimeout:  2 * time.Second,
		CommitInterval:    0, // synchronous, explicit commits only
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		// A member busy storing a batch (or waiting for a commit) when the
		// group rebalances gets this long to rejoin before it is dropped;
		// 10 s proved too short for a collector on a loaded machine, and
		// a dropped member rejoining starts the rebalance over.
		RebalanceTimeout: 30 * time.Second,
		JoinGroupBackoff: 500 * time.Millisecond,
	})
	return &Consumer{r: r}, nil
}

// Record is one consumed message.
type Record struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
}

// Fetch returns the next record. Its Key and Value stay valid after the next
// Fetch (kafka-go allocates them per message).
func (c *Consumer) Fetch(ctx context.Context) (Record, error) {
	m, err := c.r.FetchMessage(ctx)
	if err != nil {
		return Record{}, err
	}
	return Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}, nil
}

// CommitOffset records that every message of topic/partition before next has
// been fully processed: the group resumes at next.
func (c *Consumer) CommitOffset(ctx context.Context, topic string, partition int, next int64) error {
	if err := c.r.CommitMessages(ctx, kafka.Message{Topic: topic, Partition: partition, Offset: next - 1}); err != nil {
		return fmt.Errorf("bus: committing %s/%d at %d: %w", topic, partition, next, err)
	}
	return nil
}

// Lag returns the reader's last known lag (messages behind the end).
func (c *Consumer) Lag() int64 { return c.r.Stats().Lag }

// Close leaves the group.
func (c *Consumer) Close() error { return c.r.Close() }
