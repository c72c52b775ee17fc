package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/trunkscope/trunkscope/config"
	"github.com/trunkscope/trunkscope/probe/synth"
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
func benchCollectorServers(tw io.Writer, e *env, dir string, calls int, p prodBench) error {
	if p.brokers == "" || p.clickhouse == "" {
		return usagef("--brokers and --clickhouse go together")
	}
	sig := filepath.Join(dir, "signalling.pcap")
	if err := generate(e, sig, synth.Options{Calls: calls, Seed: 2, NoRTP: true, CPS: 20}); err != nil {
		return err
	}
	cfg := config.Default()
	run := fmt.Sprintf("bench%d", time.Now().UnixNano())
	cfg.Kafka.Brokers = strings.Split(p.brokers, ",")
	cfg.Kafka.Group = "trunkscope-" + run
	cfg.Kafka.Topics.SIP, cfg.Kafka.Topics.RTP, cfg.Kafka.Topics.RTCP = run+".sip", run+".rtp", run+".rtcp"
	cfg.ClickHouse.Addrs = strings.Split(p.clickhouse, ",")
	cfg.ClickHouse.Database = "trunkscope_" + run
	cfg.ClickHouse.Cluster, cfg.ClickHouse.User, cfg.ClickHouse.Password = p.cluster, p.user, p.password
	start := time.Now()
	var out bytes.Buffer
	if err := replay(context.Background(), &env{stdout: &out, stderr: ioDiscard{}, log: e.log}, cfg, filepath.Join(dir, "data-servers"), sig, false); err != nil {
		return err
	}
	el := time.Since(start)
	events := int64(0)
	fmt.Sscanf(out.String()[bytes.Index(out.Bytes(), []byte("packets, "))+len("packets, "):], "%d", &events)
	where := "ClickHouse " + p.clickhouse
	if p.cluster != "" {
		where = "ClickHouse cluster " + p.cluster
	}
	fmt.Fprintf(tw, "collector: replay (Kafka %s -> collector -> %s)\t%.0f events/s\t%d SIP events, %d calls, database %s, schema and topics created, in %s\n",
		p.brokers, where, float64(events)/el.Seconds(), events, calls, cfg.ClickHouse.Database, el.Round(time.Millisecond))
	return nil
}
