// Package storetest gives tests real ClickHouse engines: the process's chDB
// session, or a ClickHouse server started in a temporary directory. A
// missing engine fails the test with the setup command to run; it is never
// skipped, so a green run proves the engines were there.
package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkscope/trunkscope/store"
	"github.com/trunkscope/trunkscope/store/chserver"
)

var embedded struct {
	sync.Once
	st  *store.Embedded
	err error
}

var dbSeq atomic.Int64

// NewDatabase returns a database name no other test in this process uses.
func NewDatabase(t testing.TB) string {
	return fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
}

// Embedded returns the process's chDB store (chDB is one engine per process)
// and a fresh database name for the test's isolation.
func Embedded(t testing.TB) (store.Store, string) {
	t.Helper()
	embedded.Do(func() {
		dir, err := os.MkdirTemp("", "trunkscope-chdb-")
		if err != nil {
			embedded.err = err
			return
		}
		embedded.st, embedded.err = store.OpenEmbedded(dir)
	})
	if embedded.err != nil {
		t.Fatalf("chDB: %v", embedded.err)
	}
	return embedded.st, NewDatabase(t)
}

// ServerBinary is where Debian's clickhouse-server package puts the server.
const ServerBinary = "/usr/sbin/clickhouse-server"

// Server starts a ClickHouse server on loopback in a temporary directory and
// returns a store on it; the server is stopped when the test ends.
func Server(t testing.TB) (store.Store, string) {
	t.Helper()
	st, _ := startServer(t)
	return st, NewDatabase(t)
}

// ServerAddr starts a ClickHouse server like Server and returns the address
// of its native protocol, for code under test that connects by itself.
func ServerAddr(t testing.TB) string {
	t.Helper()
	_, addr := startServer(t)
	return addr
}

// Proc is a ClickHouse server the test can stop and start again (outage
// tests); its data directory and ports stay the same.
type Proc struct {
	Addr  string
	t     testing.TB
	start func() *exec.Cmd
	cmd   *exec.Cmd
}

// Stop kills the server (SIGKILL: an outage, not a shutdown).
func (p *Proc) Stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// Start starts it again and waits until it answers.
func (p *Proc) Start() {
	p.t.Helper()
	p.cmd = p.start()
	waitServer(p.t, p.Addr, filepath.Dir(p.cmd.Args[1][len("--config-file="):]))
}

// ServerProc starts a ClickHouse server like Server and returns a handle
// that can stop and restart it.
func ServerProc(t testing.TB) *Proc {
	t.Helper()
	p := &Proc{t: t}
	var st store.Store
	st, p.Addr, p.start, p.cmd = launchServer(t)
	st.Close()
	return p
}

func startServer(t testing.TB) (store.Store, string) {
	t.Helper()
	st, addr, _, _ := launchServer(t)
	return st, addr
}

// launchServer writes a configuration, starts the server and waits for it;
// the returned function starts another process on the same directory.
func launchServer(t testing.TB) (store.Store, string, func() *exec.Cmd, *exec.Cmd) {
	t.Helper()
	p := freePorts(t, 2)
	return launchServerWith(t, p[0], p[1], "")
}

// launchServerWith is launchServer with the native port chosen and extra
// configuration elements (a cluster's remote_servers, macros, zookeeper).
func launchServerWith(t testing.TB, tcp, http int, extra string) (store.Store, string, func() *exec.Cmd, *exec.Cmd) {
	t.Helper()
	if _, err := os.Stat(ServerBinary); err != nil {
		t.Fatalf("%s missing: run ./scripts/setup --servers (installs Debian's clickhouse-server)", ServerBinary)
	}
	dir := t.TempDir()
	if os.Getenv("STORETEST_KEEP") != "" { // debugging: keep the servers' logs
		dir, _ = os.MkdirTemp("", "storetest-")
	}
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/err.log</errorlog></logger>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <listen_host>127.0.0.1</listen_host>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>5368709</mark_cache_size>
    <timezone>UTC</timezone>
%[4]s
</yandex>
`, dir, tcp, http, extra)
	profile := ""
	if strings.Contains(extra, "<remote_servers>") {
		// What trunkscope's collectors need on a cluster (see
		// chserver.Options.Cluster).
		profile = "<load_balancing>in_order</load_balancing>"
	}
	users := `<?xml version="1.0"?>
<yandex>
    <profiles><default>` + profile + `</default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
`
	for name, body := range map[string]string{"config.xml": cfg, "users.xml": users} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(ServerBinary, "--config-file="+filepath.Join(dir, "config.xml"))
		out, err := os.OpenFile(filepath.Join(dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting clickhouse-server: %v", err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			out.Close()
		})
		return cmd
	}
	first := start()
	addr := fmt.Sprintf("127.0.0.1:%d", tcp)
	return waitServer(t, addr, dir), addr, start, first
}

func waitServer(t testing.TB, addr, dir string) store.Store {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := chserver.Open(ctx, chserver.Options{Addrs: []string{addr}})
		cancel()
		if err == nil {
			t.Cleanup(func() { st.Close() })
			return st
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Fatalf("clickhouse-server did not come up: %v\n%s", err, tail(string(log), 2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// EachEngine runs f as a subtest on a fresh database of each engine: chDB
// and the ClickHouse 18.16 server. Everything trunkscope sends must run on
// both.
func EachEngine(t *testing.T, f func(t *testing.T, st store.Store, db string)) {
	for _, eng := range []struct {
		name string
		open func(testing.TB) (store.Store, string)
	}{{"chdb", Embedded}, {"clickhouse-18.16", Server}} {
		t.Run(eng.name, func(t *testing.T) {
			st, db := eng.open(t)
			f(t, st, db)
		})
	}
}

// freePorts returns n distinct free loopback ports: all are held open
// until every one is chosen, so the kernel cannot hand out one twice.
func freePorts(t testing.TB, n int) []int {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}
