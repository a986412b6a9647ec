package app_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"govmobile/app"
	"govmobile/database"
	"govmobile/models"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Read replicas against real MariaDB replication: two private servers in
// the test's temporary directory, the second a replica of the first, and
// govmobile with the first as --db and the second in --db-replicas. The
// replica is made to diverge on purpose (a row changed there only), so an
// answer says which server gave it; STOP SLAVE SQL_THREAD makes it stale at
// will, and killing its process makes it die.

const mariadbd = "/usr/sbin/mariadbd"

// rrServer is a private MariaDB server.
type rrServer struct {
	dir, sock string
	port      int
	args      []string
	cmd       *exec.Cmd
	db        *sql.DB // over the socket, as root
}

func rrFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rrStart starts mariadbd over dir and waits until it answers.
func rrStart(t *testing.T, s *rrServer) {
	t.Helper()
	s.cmd = exec.Command(mariadbd, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = nil, nil
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start mariadbd: %v", err)
	}
	cmd := s.cmd
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
		}
	})
	if s.db == nil {
		db, err := sql.Open("mysql", "root@unix("+s.sock+")/?multiStatements=true")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxIdleConns(1)
		t.Cleanup(func() { db.Close() })
		s.db = db
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.db.Ping() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
			t.Fatalf("mariadbd on port %d did not start: %s", s.port, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rrKill kills the server as a crash would (SIGKILL).
func (s *rrServer) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = s.cmd.Process.Wait()
}

func (s *rrServer) exec(t *testing.T, stmt string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(stmt, args...); err != nil {
		t.Fatalf("port %d: %s: %v", s.port, stmt, err)
	}
}

// slaveStatus reads the replica's default connection status by column.
func (s *rrServer) slaveStatus(t *testing.T) map[string]string {
	t.Helper()
	rows, err := s.db.Query("SHOW SLAVE STATUS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[string]string{}
	if !rows.Next() {
		return out
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	for i, c := range cols {
		out[c] = vals[i].String
	}
	return out
}

// rrPair starts a primary and a replica replicating from it.
func rrPair(t *testing.T) (primary, replica *rrServer) {
	t.Helper()
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		t.Skip("mariadb-install-db not installed")
	}
	root := t.TempDir()
	base := filepath.Join(root, "base")
	// --no-defaults: nothing from the machine's my.cnf (the shared server's
	// datadir, socket or binary log) may leak into the private servers.
	out, err := exec.Command(install, "--no-defaults", "--auth-root-authentication-method=normal", "--datadir="+base,
		"--user=root", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	servers := make([]*rrServer, 2)
	for i, name := range []string{"primary", "replica"} {
		dir := filepath.Join(root, name)
		// The replica starts as a copy of the freshly installed primary,
		// so replication starts from the primary's first binary log event.
		if out, err := exec.Command("cp", "-a", base, dir).CombinedOutput(); err != nil {
			t.Fatalf("copy datadir: %v %s", err, out)
		}
		s := &rrServer{dir: dir, sock: filepath.Join(dir, "s.sock"), port: rrFreePort(t)}
		s.args = []string{"--no-defaults", "--datadir=" + dir, "--socket=" + s.sock, fmt.Sprintf("--port=%d", s.port),
			"--bind-address=127.0.0.1", "--skip-networking=0", "--skip-name-resolve", "--user=root",
			fmt.Sprintf("--server-id=%d", i+1), "--pid-file=" + filepath.Join(dir, "pid"), "--log-error=" + filepath.Join(dir, "error.log"),
			"--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2", "--max-connections=200"}
		if name == "primary" {
			s.args = append(s.args, "--log-bin="+filepath.Join(dir, "binlog"), "--binlog-format=ROW", "--sync-binlog=0")
		} else {
			// A replica refuses writes but from an administrator (the test
			// diverges it as root); replication survives its restart.
			s.args = append(s.args, "--skip-log-bin", "--read-only=1", "--relay-log="+filepath.Join(dir, "relay"))
		}
		rrStart(t, s)
		servers[i] = s
	}
	primary, replica = servers[0], servers[1]
	var file string
	var pos int64
	var ignore1, ignore2 sql.NullString
	if err := primary.db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &ignore1, &ignore2); err != nil {
		t.Fatal(err)
	}
	replica.exec(t, fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='root', MASTER_PASSWORD='', "+
		"MASTER_LOG_FILE='%s', MASTER_LOG_POS=%d, MASTER_CONNECT_RETRY=1", primary.port, file, pos))
	replica.exec(t, "START SLAVE")
	deadline := time.Now().Add(15 * time.Second)
	for st := replica.slaveStatus(t); st["Slave_IO_Running"] != "Yes" || st["Slave_SQL_Running"] != "Yes"; st = replica.slaveStatus(t) {
		if time.Now().After(deadline) {
			t.Fatalf("replica not replicating: %v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	primary.exec(t, "CREATE DATABASE govmobile CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	return primary, replica
}

// readiness reads /readyz's state of the read replicas.
func (b *backend) replicaReadiness(t *testing.T) string {
	t.Helper()
	_, _, body := b.get(t, "/readyz")
	var r struct {
		Ready    bool
		Degraded bool
		Checks   map[string]string
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz: %s", body)
	}
	if !r.Ready {
		t.Fatalf("not ready: %s", body)
	}
	if r.Degraded != (r.Checks["readReplicas"] == "degraded") {
		t.Fatalf("degraded %v with readReplicas %q: %s", r.Degraded, r.Checks["readReplicas"], body)
	}
	return r.Checks["readReplicas"]
}

// awaitReadiness waits until /readyz reports want for the read replicas,
// and says how long that took.
func (b *backend) awaitReadiness(t *testing.T, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for b.replicaReadiness(t) != want {
		if time.Since(start) > within {
			_, _, body := b.get(t, "/readyz")
			t.Fatalf("read replicas not %q within %s: %s", want, within, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

func TestReadReplicas(t *testing.T) {
	if os.Getenv("TEST_MYSQL_DSN") == "" {
		t.Skip("TEST_MYSQL_DSN not set: read replicas are a MySQL deployment's")
	}
	if _, err := os.Stat(mariadbd); err != nil {
		t.Skip("no " + mariadbd + " to run a private primary and replica")
	}
	begin := time.Now()
	primary, replica := rrPair(t)
	t.Logf("primary and replica replicating after %s", time.Since(begin).Round(time.Millisecond))

	logs := &syncBuffer{}
	dbURL := func(s *rrServer) string { return fmt.Sprintf("mysql://root@tcp(127.0.0.1:%d)/govmobile", s.port) }
	b, err := newApp("replicas", func(c *app.Config) {
		c.DatabaseURL = dbURL(primary)
		c.DatabaseReplicas = []string{dbURL(replica)}
		c.ReplicaMaxLag = 2 * time.Second
		c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.srv.Close()
		b.app.Close()
		os.RemoveAll(b.dir)
	})
	t.Logf("govmobile started after %s", time.Since(begin).Round(time.Millisecond))
	// The replica catches up with the migrations and the demo catalogue.
	b.awaitReadiness(t, "ok", 30*time.Second)
	if got := metric(t, b, "govmobile_db_replicas_usable"); got != "1" {
		t.Fatalf("govmobile_db_replicas_usable %s", got)
	}
	served := database.ReplicaQueriesTotal.WithLabelValues(fmt.Sprintf("127.0.0.1:%d", replica.port))
	replicaStatements := func() float64 { return testutil.ToFloat64(served) }
	logged := func(msg string) int { return strings.Count(strings.Join(logs.lines(), "\n"), msg) }
	const down, up = "只读副本不可用", "只读副本可用"

	// Three matters: one to apply for, one diverged on the replica, one
	// renamed on the primary while the replica is stopped.
	var online, diverged, renamed models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").First(&online).Error; err != nil {
		t.Fatal(err)
	}
	if err := b.app.DB.Where("id <> ?", online.ID).Order("id DESC").First(&diverged).Error; err != nil {
		t.Fatal(err)
	}
	if err := b.app.DB.Where("id NOT IN ?", []uint64{online.ID, diverged.ID}).Order("id DESC").First(&renamed).Error; err != nil {
		t.Fatal(err)
	}
	replica.exec(t, "UPDATE govmobile.matters SET name = CONCAT(name, '（副本）') WHERE id = ?", diverged.ID)
	publicName := func(id uint64) string {
		t.Helper()
		var out struct{ Matter struct{ Name string } }
		b.gql(t, "", `query($id: ID!) { matter(id: $id) { name } }`, map[string]any{"id": gid("Matter", id)}).decode(t, &out)
		return out.Matter.Name
	}

	t.Run("public catalogue reads go to the replica", func(t *testing.T) {
		before := replicaStatements()
		if got := publicName(diverged.ID); got != diverged.Name+"（副本）" {
			t.Fatalf("public matter read %q: not the replica's row", got)
		}
		if replicaStatements() <= before {
			t.Fatal("the replica counted no statement")
		}
		// The same row, read by the primary's own code path (no replica
		// context), is the primary's.
		var m models.Matter
		b.app.DB.First(&m, diverged.ID)
		if m.Name != diverged.Name {
			t.Fatalf("primary read %q", m.Name)
		}
		// A catalogue query with a personal field beside it: the primary.
		citizen := b.register(t, person(t)).Ticket
		before = replicaStatements()
		var both struct{ Matter struct{ Name string } }
		b.gql(t, citizen, `query($id: ID!) { matter(id: $id) { name } myCases { totalCount } }`, map[string]any{"id": gid("Matter", diverged.ID)}).decode(t, &both)
		if both.Matter.Name != diverged.Name || replicaStatements() != before {
			t.Fatalf("a query with myCases read %q, %v statements on the replica", both.Matter.Name, replicaStatements()-before)
		}
	})

	t.Run("statistics go to the replica, other console reads do not", func(t *testing.T) {
		admin := b.adminTicket(t)
		// The administrator is disabled on the replica only: the ticket and
		// permissions are checked on the primary, so the report is served.
		replica.exec(t, "UPDATE govmobile.admins SET disabled = 1 WHERE username = 'admin'")
		defer replica.exec(t, "UPDATE govmobile.admins SET disabled = 0 WHERE username = 'admin'")
		before := replicaStatements()
		var stats struct{ EvaluationStats []struct{ Name string } }
		b.gql(t, admin, `{ evaluationStats(groupBy: AGENCY) { name } }`, nil).decode(t, &stats)
		if replicaStatements() <= before {
			t.Fatal("evaluationStats ran no statement on the replica")
		}
		before = replicaStatements()
		var logs struct{ AuditLogs struct{ TotalCount int } }
		b.gql(t, admin, `{ auditLogs { totalCount } }`, nil).decode(t, &logs)
		if n := replicaStatements() - before; n != 0 {
			t.Fatalf("auditLogs ran %v statements on the replica", n)
		}
	})

	t.Run("a citizen's writes and own reads use the primary", func(t *testing.T) {
		before := replicaStatements()
		citizen := b.register(t, person(t)).Ticket
		var sub struct {
			SubmitApplication struct{ Case struct{ ID, Status string } }
		}
		b.gql(t, citizen, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id status } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", online.ID), "values": completeForm, "idempotencyKey": "replica-1"}}).decode(t, &sub)
		// Read at once, before the replica could have applied it.
		var mine struct {
			MyCases struct {
				TotalCount int
				Edges      []struct{ Node struct{ ID, Status string } }
			}
		}
		b.gql(t, citizen, `{ myCases { totalCount edges { node { id status } } } }`, nil).decode(t, &mine)
		if mine.MyCases.TotalCount != 1 || mine.MyCases.Edges[0].Node.ID != sub.SubmitApplication.Case.ID || mine.MyCases.Edges[0].Node.Status != "SUBMITTED" {
			t.Fatalf("own case right after submitting: %+v", mine)
		}
		var node struct{ Node struct{ Status string } }
		b.gql(t, citizen, `query($id: ID!) { node(id: $id) { ... on Case { status } } }`, map[string]any{"id": sub.SubmitApplication.Case.ID}).decode(t, &node)
		if node.Node.Status != "SUBMITTED" {
			t.Fatalf("own case by node: %+v", node)
		}
		if n := replicaStatements() - before; n != 0 {
			t.Fatalf("registering, submitting and reading one's own cases ran %v statements on the replica", n)
		}
		// The write landed on the primary, and replication carries it.
		var onPrimary, onReplica int
		primary.db.QueryRow("SELECT COUNT(*) FROM govmobile.cases WHERE matter_id = ? AND status = 'SUBMITTED'", online.ID).Scan(&onPrimary)
		if onPrimary != 1 {
			t.Fatalf("%d submitted cases on the primary", onPrimary)
		}
		waitFor(t, func() bool {
			replica.db.QueryRow("SELECT COUNT(*) FROM govmobile.cases WHERE matter_id = ?", online.ID).Scan(&onReplica)
			return onReplica == 1
		})
	})

	t.Run("a stopped replica is not read, and is again once it catches up", func(t *testing.T) {
		downs, ups := logged(down), logged(up)
		replica.exec(t, "STOP SLAVE SQL_THREAD")
		newName := renamed.Name + "（已更名）"
		if err := b.app.DB.Model(&models.Matter{}).Where("id = ?", renamed.ID).Update("name", newName).Error; err != nil {
			t.Fatal(err)
		}
		took := b.awaitReadiness(t, "degraded", 3*time.Second)
		t.Logf("stopped replica out of use after %s", took.Round(time.Millisecond))
		var stale string
		replica.db.QueryRow("SELECT name FROM govmobile.matters WHERE id = ?", renamed.ID).Scan(&stale)
		if stale != renamed.Name {
			t.Fatalf("the stopped replica has %q: the test proves nothing", stale)
		}
		before := replicaStatements()
		if got := publicName(renamed.ID); got != newName {
			t.Fatalf("public read while the replica is stale: %q", got)
		}
		if got := publicName(diverged.ID); got != diverged.Name {
			t.Fatalf("public read while the replica is stale came from it: %q", got)
		}
		if n := replicaStatements() - before; n != 0 {
			t.Fatalf("%v statements on a stopped replica", n)
		}
		if metric(t, b, "govmobile_db_replicas_usable") != "0" || logged(down) != downs+1 {
			t.Fatalf("usable gauge %s, %d new outage log lines", metric(t, b, "govmobile_db_replicas_usable"), logged(down)-downs)
		}

		replica.exec(t, "START SLAVE SQL_THREAD")
		took = b.awaitReadiness(t, "ok", 5*time.Second)
		t.Logf("replica back in use %s after START SLAVE", took.Round(time.Millisecond))
		before = replicaStatements()
		if got := publicName(renamed.ID); got != newName {
			t.Fatalf("the caught-up replica answers %q", got)
		}
		if got := publicName(diverged.ID); got != diverged.Name+"（副本）" {
			t.Fatalf("public read after START SLAVE not from the replica: %q", got)
		}
		if replicaStatements()-before < 2 || logged(up) != ups+1 || logged(down) != downs+1 {
			t.Fatalf("replica statements %v, log lines up +%d down +%d", replicaStatements()-before, logged(up)-ups, logged(down)-downs)
		}
	})

	t.Run("a killed replica: reads go on from the primary", func(t *testing.T) {
		downs := logged(down)
		replica.kill(t)
		killed := time.Now()
		// The first read after the crash is answered (by the primary:
		// the replica's dead connection fails it there, and it is run
		// again on the primary), then the replica is out of use.
		if got := publicName(diverged.ID); got != diverged.Name {
			t.Fatalf("public read after the replica died: %q", got)
		}
		answered := time.Since(killed)
		took := b.awaitReadiness(t, "degraded", 3*time.Second)
		t.Logf("first public read answered %s after the kill; /readyz degraded after %s", answered.Round(time.Millisecond), (answered + took).Round(time.Millisecond))
		if answered > 2*time.Second {
			t.Fatalf("a public read took %s after the replica died", answered)
		}
		for range 5 {
			if got := publicName(renamed.ID); !strings.HasSuffix(got, "（已更名）") {
				t.Fatalf("public read with the replica down: %q", got)
			}
		}
		time.Sleep(1500 * time.Millisecond) // a probe or two on the dead replica
		if logged(down) != downs+1 {
			t.Fatalf("%d outage log lines for one outage", logged(down)-downs)
		}

		// Restarted, it resumes replication and serves again.
		restart := time.Now()
		rrStart(t, replica)
		b.awaitReadiness(t, "ok", 20*time.Second)
		t.Logf("restarted replica in use again %s after restart", time.Since(restart).Round(time.Millisecond))
		if got := publicName(diverged.ID); got != diverged.Name+"（副本）" {
			t.Fatalf("public read after the replica came back: %q", got)
		}

		// Killed again, with a statistics read first: reports scan rows
		// (gorm's Rows path, not its query path), and that read is run
		// again on the primary too.
		admin := b.adminTicket(t)
		replica.kill(t)
		var stats struct{ EvaluationStats []struct{ Name string } }
		if r := b.gql(t, admin, `{ evaluationStats(groupBy: AGENCY) { name } }`, nil); len(r.Errors) > 0 {
			t.Fatalf("a report read as the replica died: %s", r.Raw)
		} else {
			r.decode(t, &stats)
		}
		b.awaitReadiness(t, "degraded", 3*time.Second)
	})
	t.Logf("whole test %s", time.Since(begin).Round(time.Millisecond))
}
