package bus

import (
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is the in-process Kafka-protocol broker (kfake) used when no
// brokers are configured. Its DataDir keeps topics, records and consumer
// group offsets across restarts, so events published before a crash are
// still there for the collector afterwards.
type Embedded struct {
	c *kfake.Cluster
}

// StartEmbedded starts one broker on a loopback port, persisting to dir.
func StartEmbedded(dir string, logger *slog.Logger) (*Embedded, error) {
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DataDir(dir),
		kfake.ListenFn(loopbackListen),
		kfake.ClusterID("trunkscope-embedded"),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: starting embedded broker in %s: %w", dir, err)
	}
	logger.Debug("embedded broker started", "component", "bus", "addrs", c.ListenAddrs(), "dir", dir)
	return &Embedded{c: c}, nil
}

// Addrs returns the broker's listen addresses.
func (e *Embedded) Addrs() []string { return e.c.ListenAddrs() }

// Close stops the broker and flushes its state to disk.
func (e *Embedded) Close() { e.c.Close() }
