package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/chserver"
)

// ZooKeeper is where Debian's zookeeper package puts the server's jar;
// its manifest names the jars it needs.
const ZooKeeperJar = "/usr/share/java/zookeeper.jar"

// ClickHouseCluster is a ClickHouse cluster on loopback: shards x replicas
// Debian clickhouse-server 18.16 processes and one ZooKeeper, with a
// cluster configuration (remote_servers, macros, zookeeper,
// distributed_ddl) the helper wrote. Everything stops when the test ends.
type ClickHouseCluster struct {
	// Name is the cluster's name in remote_servers.
	Name string
	// Addrs[shard][replica] is each server's native protocol address.
	Addrs [][]string
	// ZooKeeper is the ZooKeeper client address.
	ZooKeeper string
}

// All returns every server's address, shard by shard.
func (c *ClickHouseCluster) All() []string {
	var all []string
	for _, s := range c.Addrs {
		all = append(all, s...)
	}
	return all
}

// Open connects to one server with the cluster named (the store a
// collector or a query on that server would use).
func (c *ClickHouseCluster) Open(t testing.TB, addr string) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := chserver.Open(ctx, chserver.Options{Addrs: []string{addr}, Cluster: c.Name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Cluster starts a ZooKeeper and shards x replicas ClickHouse servers.
func Cluster(t testing.TB, shards, replicas int) *ClickHouseCluster {
	t.Helper()
	zk := startZooKeeper(t)
	c := &ClickHouseCluster{Name: "trunkscope_test", ZooKeeper: zk}
	// Native, HTTP and interserver ports of every server, chosen together.
	ports := freePorts(t, 3*shards*replicas)
	port := func(s, r, kind int) int { return ports[3*(s*replicas+r)+kind] }
	var remote strings.Builder
	for s := range shards {
		remote.WriteString("<shard><internal_replication>true</internal_replication>")
		for r := range replicas {
			fmt.Fprintf(&remote, "<replica><host>127.0.0.1</host><port>%d</port></replica>", port(s, r, 0))
		}
		remote.WriteString("</shard>")
	}
	zhost, zport, _ := net.SplitHostPort(zk)
	for s := range shards {
		c.Addrs = append(c.Addrs, nil)
		for r := range replicas {
			extra := fmt.Sprintf(`    <remote_servers><%[1]s>%[2]s</%[1]s></remote_servers>
    <zookeeper><node><host>%[3]s</host><port>%[4]s</port></node></zookeeper>
    <macros><shard>%02[5]d</shard><replica>r%[6]d</replica></macros>
    <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <interserver_http_port>%[7]d</interserver_http_port>`,
				c.Name, remote.String(), zhost, zport, s+1, r+1, port(s, r, 2))
			st, addr, _, _ := launchServerWith(t, port(s, r, 0), port(s, r, 1), extra)
			st.Close()
			c.Addrs[s] = append(c.Addrs[s], addr)
		}
	}
	// A server answers queries before its ZooKeeper session is up, and
	// DDL ON CLUSTER sent then can fail: wait until each one reads
	// ZooKeeper.
	for _, addr := range c.All() {
		st := c.Open(t, addr)
		deadline := time.Now().Add(60 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := st.Query(ctx, "SELECT count() AS n FROM system.zookeeper WHERE path = '/'")
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("clickhouse-server %s does not reach ZooKeeper %s: %v", addr, zk, err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	return c
}

// startZooKeeper runs Debian's ZooKeeper standalone on a loopback port.
func startZooKeeper(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(ZooKeeperJar); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup --servers (installs Debian's zookeeper)", ZooKeeperJar)
	}
	dir := t.TempDir()
	port := freePort(t)
	cfg := fmt.Sprintf("tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s/data\nclientPort=%d\nclientPortAddress=127.0.0.1\n"+
		"admin.enableServer=false\n4lw.commands.whitelist=ruok\n", dir, port)
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("java", "-Xmx256m", "-cp", "/etc/zookeeper/conf:"+ZooKeeperJar,
		"org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting zookeeper: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if ruok(addr) {
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "zookeeper.log"))
			t.Fatalf("zookeeper on %s did not come up:\n%s", addr, tail(string(out), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// ClickHouse 18.16's DDL worker can crash (SIGSEGV in
	// zkutil::ZooKeeper::createImpl) creating the distributed_ddl queue
	// itself on the first ON CLUSTER query: create it beforehand, as a
	// deployment of 18.16 must too (README, "Scaling out").
	// The CLI can run its commands before its session is up
	// (ConnectionLoss): try again until the node is listed.
	for attempt := 1; ; attempt++ {
		cli := exec.Command("java", "-cp", "/etc/zookeeper/conf:"+ZooKeeperJar, "org.apache.zookeeper.ZooKeeperMain", "-server", addr)
		cli.Stdin = strings.NewReader("create /clickhouse \"\"\ncreate /clickhouse/task_queue \"\"\ncreate /clickhouse/task_queue/ddl \"\"\nls /clickhouse/task_queue\nquit\n")
		out, _ := cli.CombinedOutput()
		if strings.Contains(string(out), "[ddl]") {
			break
		}
		if attempt == 10 {
			t.Fatalf("creating the DDL queue in zookeeper %s:\n%s", addr, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
	return addr
}

// ruok sends ZooKeeper's four-letter health word.
func ruok(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	conn.Write([]byte("ruok"))
	b := make([]byte, 4)
	n, _ := conn.Read(b)
	return string(b[:n]) == "imok"
}
