// Package bus moves events between trunkscope's roles over Kafka: the
// embedded broker (franz-go's kfake, in-process, persisted under the data
// directory), topic setup, a batching producer and a consumer-group reader,
// both on segmentio/kafka-go so that the embedded broker and a real Apache
// Kafka cluster are driven by the same client code.
package bus

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/segmentio/kafka-go"
)

// Topics names the event topics.
type Topics struct {
	SIP string `yaml:"sip"`
	// RTP carries RTP stream reports, keyed by Call-ID like SIP.
	RTP string `yaml:"rtp"`
	// RTCP carries RTCP packets tied to calls.
	RTCP string `yaml:"rtcp"`
	// Probe carries active-probe results (OPTIONS pings, test calls),
	// keyed by trunk name.
	Probe string `yaml:"probe"`
}

// DefaultTopics are the topic names used when the config names none.
func DefaultTopics() Topics {
	return Topics{SIP: "trunkscope.sip", RTP: "trunkscope.rtp", RTCP: "trunkscope.rtcp", Probe: "trunkscope.probe"}
}

// All lists every topic that is named.
func (t Topics) All() []string {
	var all []string
	for _, n := range []string{t.SIP, t.RTP, t.RTCP, t.Probe} {
		if n != "" {
			all = append(all, n)
		}
	}
	return all
}

// EnsureTopics creates the topics that do not exist yet. Existing topics are
// left as they are (their partition count is not changed).
func EnsureTopics(ctx context.Context, brokers []string, topics []string, partitions, replication int) error {
	return Cluster{Brokers: brokers}.EnsureTopics(ctx, topics, partitions, replication)
}

// EnsureTopics creates the topics that do not exist yet; see EnsureTopics.
func (k Cluster) EnsureTopics(ctx context.Context, topics []string, partitions, replication int) error {
	brokers, c := k.Brokers, k.client()
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: replication})
	}
	resp, err := c.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("bus: creating topics on %v: %w", brokers, err)
	}
	for t, err := range resp.Errors {
		if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
			return fmt.Errorf("bus: creating topic %s: %w", t, err)
		}
	}
	return nil
}

// EndOffsets returns, per partition of topic, the offset the next message
// will get (the high watermark).
func EndOffsets(ctx context.Context, brokers []string, topic string) (map[int]int64, error) {
	return Cluster{Brokers: brokers}.EndOffsets(ctx, topic)
}

// EndOffsets returns the end offset of each partition of topic.
func (k Cluster) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	// A topic just created has partitions whose leader is still being
	// elected (Apache Kafka answers "not leader" or "leader not
	// available" for a moment): retry those for up to ~30 s.
	for attempt := 0; ; attempt++ {
		out, err := k.endOffsets(ctx, topic)
		if err == nil || !retriableLeader(err) || attempt >= 150 {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (k Cluster) endOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	c := k.client()
	md, err := c.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("bus: metadata of %s: %w", topic, err)
	}
	var reqs []kafka.OffsetRequest
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("bus: metadata of %s: %w", topic, t.Error)
		}
		for _, p := range t.Partitions {
			if p.Error != nil {
				return nil, fmt.Errorf("bus: metadata of %s/%d: %w", topic, p.ID, p.Error)
			}
			reqs = append(reqs, kafka.LastOffsetOf(p.ID))
		}
	}
	resp, err := c.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("bus: end offsets of %s: %w", topic, err)
	}
	out := make(map[int]int64)
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("bus: end offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.LastOffset
	}
	return out, nil
}

func retriableLeader(err error) bool {
	return errors.Is(err, kafka.NotLeaderForPartition) || errors.Is(err, kafka.LeaderNotAvailable) ||
		errors.Is(err, kafka.UnknownTopicOrPartition)
}

// CommittedOffsets returns the group's committed offsets for topic's
// partitions (-1 where nothing is committed).
func CommittedOffsets(ctx context.Context, brokers []string, group, topic string, partitions []int) (map[int]int64, error) {
	return Cluster{Brokers: brokers}.CommittedOffsets(ctx, group, topic, partitions)
}

// CommittedOffsets returns the group's committed offsets (-1: none).
func (k Cluster) CommittedOffsets(ctx context.Context, group, topic string, partitions []int) (map[int]int64, error) {
	c := k.client()
	var resp *kafka.OffsetFetchResponse
	for attempt := 0; ; attempt++ {
		var err error
		resp, err = c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: partitions}})
		if err != nil {
			return nil, fmt.Errorf("bus: committed offsets of group %s: %w", group, err)
		}
		// A broker that is still electing or loading the group's
		// coordinator (a new cluster's first group, a broker restart)
		// answers with a retriable error: wait for it, up to ~30 s.
		if !retriableCoordinator(resp.Error) || attempt >= 150 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("bus: committed offsets of group %s: %w", group, resp.Error)
		case <-time.After(200 * time.Millisecond):
		}
	}
	out := make(map[int]int64)
	if errors.Is(resp.Error, kafka.GroupIdNotFound) {
		// A group that never committed: nothing is committed anywhere.
		for _, p := range partitions {
			out[p] = -1
		}
		return out, nil
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("bus: committed offsets of group %s: %w", group, resp.Error)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("bus: committed offset of %s/%d: %w", topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// Ping checks that a broker answers.
func Ping(ctx context.Context, brokers []string) error {
	return Cluster{Brokers: brokers}.Ping(ctx)
}

// Ping checks that a broker accepts connections (a TCP connect: TLS and
// SASL are checked by the first real request, with a clearer error).
func (k Cluster) Ping(ctx context.Context) error {
	brokers := k.Brokers
	var d net.Dialer
	var last error
	for _, b := range brokers {
		conn, err := d.DialContext(ctx, "tcp", b)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("bus: no broker of %v answers: %w", brokers, last)
}

func retriableCoordinator(err error) bool {
	return errors.Is(err, kafka.NotCoordinatorForGroup) || errors.Is(err, kafka.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafka.GroupLoadInProgress)
}
