package bus

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Cluster is how to reach a Kafka cluster: the bootstrap brokers and the
// connection's security. The zero value of everything but Brokers is a
// plaintext, unauthenticated connection (the embedded broker, or a broker
// on a private network). The package-level functions (EnsureTopics,
// NewProducer, ...) are shorthands for a Cluster with Brokers only.
type Cluster struct {
	Brokers []string
	// TLS, when set, encrypts every connection (and, with Certificates,
	// authenticates this client).
	TLS *tls.Config
	// SASL authenticates each connection; see NewSASL.
	SASL sasl.Mechanism
	// ClientID names this process in broker logs and quotas.
	ClientID string
}

// NewSASL returns the mechanism for name: PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512 ("" gives none).
func NewSASL(name, user, password string) (sasl.Mechanism, error) {
	switch name {
	case "":
		return nil, nil
	case "PLAIN":
		return plain.Mechanism{Username: user, Password: password}, nil
	case "SCRAM-SHA-256":
		return scram.Mechanism(scram.SHA256, user, password)
	case "SCRAM-SHA-512":
		return scram.Mechanism(scram.SHA512, user, password)
	}
	return nil, fmt.Errorf("bus: SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", name)
}

// transport is the kafka-go transport for the Writer and the admin Client.
func (c Cluster) transport() *kafka.Transport {
	return &kafka.Transport{TLS: c.TLS, SASL: c.SASL, ClientID: c.ClientID, DialTimeout: 10 * time.Second}
}

// dialer is the kafka-go dialer for the consumer-group Reader.
func (c Cluster) dialer() *kafka.Dialer {
	return &kafka.Dialer{TLS: c.TLS, SASLMechanism: c.SASL, ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true}
}

func (c Cluster) client() *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: 10 * time.Second, Transport: c.transport()}
}

// GroupState returns the consumer group's state (Stable,
// PreparingRebalance, Empty, ...) and how many members it has, asking the
// group's coordinator.
func (k Cluster) GroupState(ctx context.Context, group string) (string, int, error) {
	c := k.client()
	co, err := c.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err != nil {
		return "", 0, fmt.Errorf("bus: coordinator of group %s: %w", group, err)
	}
	if co.Error != nil {
		return "", 0, fmt.Errorf("bus: coordinator of group %s: %w", group, co.Error)
	}
	addr := net.JoinHostPort(co.Coordinator.Host, strconv.Itoa(co.Coordinator.Port))
	resp, err := c.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{Addr: kafka.TCP(addr), GroupIDs: []string{group}})
	if err != nil {
		return "", 0, fmt.Errorf("bus: describing group %s: %w", group, err)
	}
	for _, g := range resp.Groups {
		if g.Error != nil {
			return "", 0, fmt.Errorf("bus: describing group %s: %w", group, g.Error)
		}
		return g.GroupState, len(g.Members), nil
	}
	return "", 0, fmt.Errorf("bus: group %s not described", group)
}
