package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/config"
)

// prodBench names the servers of `bench collector --brokers --clickhouse`:
// the collector measured on the production path next to the embedded one.
type prodBench struct {
	brokers, clickhouse, cluster, user, password string
}

func (p *prodBench) register(fs interface {
	StringVar(*string, string, string, string)
}) {
	fs.StringVar(&p.brokers, "brokers", "", "collector part: also measure on these Kafka brokers (host:port,...) ...")
	fs.StringVar(&p.clickhouse, "clickhouse", "", "... and these ClickHouse servers (host:port of the native protocol, ...)")
	fs.StringVar(&p.cluster, "cluster", "", "... with this ClickHouse cluster (schema ON CLUSTER, Distributed tables)")
	fs.StringVar(&p.user, "clickhouse-user", "", "ClickHouse user for --clickhouse")
	fs.StringVar(&p.password, "clickhouse-password", "", "ClickHouse password for --clickhouse")
}

// benchCollectorServers replays the same signalling-only capture as the
// embedded figure through external Kafka and ClickHouse: probe to Kafka,
// one collector draining it into ClickHouse, CDRs, rated CDRs and rollups.
// Topics, group and database are new for each run.
// config is the built-in configuration pointed at the servers, with topics,
// group and database of their own for this run; label names the path.
func (p prodBench) config() (*config.Config, string, error) {
	if p.brokers == "" || p.clickhouse == "" {
		return nil, "", usagef("--brokers and --clickhouse go together")
	}
	cfg := config.Default()
	run := fmt.Sprintf("bench%d", time.Now().UnixNano())
	cfg.Kafka.Brokers = strings.Split(p.brokers, ",")
	cfg.Kafka.Group = "trunkscope-" + run
	cfg.Kafka.Topics.SIP, cfg.Kafka.Topics.RTP, cfg.Kafka.Topics.RTCP = run+".sip", run+".rtp", run+".rtcp"
	cfg.Kafka.Topics.Probe = run + ".probe"
	cfg.ClickHouse.Addrs = strings.Split(p.clickhouse, ",")
	cfg.ClickHouse.Database = "trunkscope_" + run
	cfg.ClickHouse.Cluster, cfg.ClickHouse.User, cfg.ClickHouse.Password = p.cluster, p.user, p.password
	where := "ClickHouse " + p.clickhouse
	if p.cluster != "" {
		where = "ClickHouse cluster " + p.cluster
	}
	return cfg, "Kafka " + p.brokers + " -> " + where, nil
}
