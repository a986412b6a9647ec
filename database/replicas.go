package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"govmobile/database/readpref"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// Read replicas. Every statement goes to the primary unless its context says
// a replica may answer it (WithReplicaOK) — the caller knows whether a read
// tolerates a few seconds of lag; this package only routes. A replica that is
// down, not replicating or lagging more than MaxLag is not used; with none
// usable, replica-OK reads go to the primary.

// ReplicaQueriesTotal counts the statements each read replica answered.
var ReplicaQueriesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "govmobile_db_replica_queries_total",
	Help: "SQL statements executed on a read replica, by replica (host:port).",
}, []string{"replica"})

// WithReplicaOK marks ctx's reads as tolerating replication lag: they may be
// answered by a read replica (readpref.WithReplicaOK).
func WithReplicaOK(ctx context.Context) context.Context { return readpref.WithReplicaOK(ctx) }

// Primary marks ctx's reads as needing the primary, whatever an outer
// context said (who is asking, what they may do).
func Primary(ctx context.Context) context.Context { return readpref.Primary(ctx) }

// ReplicaOK reports whether ctx's reads may be answered by a read replica.
func ReplicaOK(ctx context.Context) bool { return readpref.ReplicaOK(ctx) }

// ReplicaConfig says where the read replicas are.
type ReplicaConfig struct {
	// DSNs are mysql:// URLs, as the primary's.
	DSNs []string
	// MaxLag is the replication lag beyond which a replica is not used
	// (default 5 s).
	MaxLag time.Duration
	// Interval is how often each replica is probed (default 1 s).
	Interval time.Duration
	Logger   *slog.Logger
}

// ParseReplicaList splits a comma-separated list of replica DSNs and checks
// each (a comma inside a DSN is written %2C). Errors never quote a password.
func ParseReplicaList(list string) ([]string, error) {
	var out []string
	for _, dsn := range strings.Split(list, ",") {
		if dsn = strings.TrimSpace(dsn); dsn == "" {
			continue
		}
		dialect, driverDSN, err := ParseDSN(dsn)
		if err != nil {
			return nil, err
		}
		if dialect != MySQL {
			return nil, fmt.Errorf("read replica %s: want mysql://USER:PASS@tcp(HOST:PORT)/DB", redact(dsn))
		}
		if _, err := mysqldriver.ParseDSN(driverDSN); err != nil {
			return nil, fmt.Errorf("read replica %s: %w", redact(dsn), err)
		}
		out = append(out, dsn)
	}
	return out, nil
}

// Replicas routes replica-OK reads to the usable read replicas and keeps
// their health.
type Replicas struct {
	replicas []*replica
	byPool   map[gorm.ConnPool]*replica
	// primary is the primary's own pool (with gorm's statement cache), for
	// a read retried there.
	primary gorm.ConnPool
	// primaryRaw is what dbresolver knows the primary as, for the policy's
	// fallback.
	primaryRaw gorm.ConnPool
	maxLag     time.Duration
	interval   time.Duration
	log        *slog.Logger
	// probe measures a replica's lag; nil lag means not replicating.
	probe func(ctx context.Context, db *sql.DB) (*time.Duration, error)
	query func(*gorm.DB)
	row   func(*gorm.DB)
	next  atomic.Uint64
	// stop and done end the probing (Close).
	stop context.CancelFunc
	done chan struct{}
}

type replica struct {
	name    string
	db      *sql.DB
	counter prometheus.Counter
	usable  atomic.Bool

	mu     sync.Mutex
	lag    *time.Duration
	reason string
	known  bool // a state has been logged
}

// UseReplicas opens the read replicas and registers dbresolver on db with
// them. Replicas are not used until their first probe (Start) finds them
// fresh enough. A replica that does not answer at start is no error: it is
// used once it does.
func UseReplicas(db *gorm.DB, dialect Dialect, cfg ReplicaConfig) (*Replicas, error) {
	if len(cfg.DSNs) == 0 {
		return nil, nil
	}
	if dialect != MySQL {
		return nil, errors.New("read replicas need a MySQL primary (--db mysql://…); SQLite has none")
	}
	var pools []*replica
	var dialectors []gorm.Dialector
	for _, dsn := range cfg.DSNs {
		d, driverDSN, err := ParseDSN(dsn)
		if err == nil && d != MySQL {
			err = fmt.Errorf("want mysql://USER:PASS@tcp(HOST:PORT)/DB")
		}
		var mc *mysqldriver.Config
		if err == nil {
			driverDSN = mysqlDSN(driverDSN)
			mc, err = mysqldriver.ParseDSN(driverDSN)
		}
		if err != nil {
			closeAll(pools)
			return nil, fmt.Errorf("read replica %s: %w", redact(dsn), err)
		}
		conn, err := mysqldriver.NewConnector(mc)
		if err != nil {
			closeAll(pools)
			return nil, fmt.Errorf("read replica %s: %w", redact(dsn), err)
		}
		sqlDB := sql.OpenDB(conn)
		tuneMySQLPool(sqlDB)
		pools = append(pools, &replica{name: mc.Addr, db: sqlDB})
		// The dialector only executes: statements are built by the
		// primary's. It does not ask the replica its version, so a replica
		// down at start does not stop the server.
		dialectors = append(dialectors, mysql.New(mysql.Config{Conn: sqlDB, SkipInitializeWithVersion: true, DefaultStringSize: 191}))
	}
	r, err := useReplicas(db, pools, dialectors, cfg)
	if err != nil {
		closeAll(pools)
		return nil, err
	}
	return r, nil
}

func closeAll(pools []*replica) {
	for _, p := range pools {
		_ = p.db.Close()
	}
}

// useReplicas registers dbresolver over already opened replica pools.
func useReplicas(db *gorm.DB, pools []*replica, dialectors []gorm.Dialector, cfg ReplicaConfig) (*Replicas, error) {
	r := &Replicas{replicas: pools, byPool: map[gorm.ConnPool]*replica{}, primary: db.ConnPool, primaryRaw: db.ConnPool,
		maxLag: cfg.MaxLag, interval: cfg.Interval, log: cfg.Logger, probe: replicationLag}
	if ps, ok := db.ConnPool.(*gorm.PreparedStmtDB); ok {
		r.primaryRaw = ps.ConnPool
	}
	if r.maxLag <= 0 {
		r.maxLag = 5 * time.Second
	}
	if r.interval <= 0 {
		r.interval = time.Second
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	for _, p := range pools {
		p.counter = ReplicaQueriesTotal.WithLabelValues(p.name)
		r.byPool[p.db] = p
	}
	// dbresolver opens each replica with a copy of the primary's gorm
	// configuration, which pings; a replica down at start must not stop the
	// server (the probe keeps it out until it answers).
	db.Config.DisableAutomaticPing = true
	res := dbresolver.Register(dbresolver.Config{Replicas: dialectors, Policy: dbresolver.PolicyFunc(r.pick)})
	if err := db.Use(res); err != nil {
		return nil, fmt.Errorf("register read replicas: %w", err)
	}
	r.query = db.Callback().Query().Get("gorm:query")
	r.row = db.Callback().Row().Get("gorm:row")
	cb := db.Callback()
	// route runs before any SQL is built. Whether gorm runs it before or
	// after dbresolver's own callback, the Write clause it may add resolves
	// the statement again on the spot (dbresolver's ModifyStatement).
	for _, reg := range []error{
		cb.Query().Before("*").Register("govmobile:replica_route", r.route),
		cb.Row().Before("*").Register("govmobile:replica_route", r.route),
		cb.Raw().Before("*").Register("govmobile:replica_route", r.routeExec),
	} {
		if reg != nil {
			return nil, fmt.Errorf("register read replicas: %w", reg)
		}
	}
	if err := cb.Query().After("gorm:query").Before("gorm:preload").Register("govmobile:replica_after", r.afterQuery); err != nil {
		return nil, fmt.Errorf("register read replicas: %w", err)
	}
	if err := cb.Row().After("gorm:row").Register("govmobile:replica_after", r.afterRow); err != nil {
		return nil, fmt.Errorf("register read replicas: %w", err)
	}
	return r, nil
}

// route sends a read (Find, First, Count, Rows, Raw(…).Scan) to the primary
// — dbresolver's Write clause — unless its context allows a replica and one
// is usable; then dbresolver decides as it does for any read: a plain
// SELECT goes to a replica, a locking one (FOR UPDATE) and anything in a
// transaction to the primary. Creates, updates and deletes always go to the
// primary (dbresolver's own rule).
func (r *Replicas) route(tx *gorm.DB) {
	if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); inTx {
		return // dbresolver leaves a transaction on its connection
	}
	if ReplicaOK(tx.Statement.Context) && r.Usable() > 0 {
		return
	}
	dbresolver.Write.ModifyStatement(tx.Statement)
}

// routeExec sends a raw statement (db.Exec) to the primary, whatever its
// context: it is run for its effect (dbresolver would send one starting
// with SELECT, such as SELECT GET_LOCK, to a replica).
func (r *Replicas) routeExec(tx *gorm.DB) {
	if _, inTx := tx.Statement.ConnPool.(gorm.TxCommitter); !inTx {
		dbresolver.Write.ModifyStatement(tx.Statement)
	}
}

// pick chooses among the usable replicas in turn (dbresolver asks only when
// there are several); none usable — a probe ran between route and pick — is
// the primary.
func (r *Replicas) pick(pools []gorm.ConnPool) gorm.ConnPool {
	n := uint64(len(pools))
	start := r.next.Add(1)
	for i := range n {
		p := pools[(start+i)%n]
		if rep := r.byPool[p]; rep != nil && rep.usable.Load() {
			return p
		}
	}
	return r.primaryRaw
}

// replicaOf names the replica a resolved statement ran on (nil: the primary).
func (r *Replicas) replicaOf(pool gorm.ConnPool) *replica {
	if ps, ok := pool.(*gorm.PreparedStmtDB); ok {
		pool = ps.ConnPool
	}
	return r.byPool[pool]
}

// afterQuery counts a statement a replica answered. One that failed there
// (the replica died, or its connection) is run again, once, on the primary:
// it is a plain SELECT outside any transaction, so running it twice is
// harmless. The replica is not used again until a probe finds it well.
func (r *Replicas) afterQuery(tx *gorm.DB) {
	rep := r.replicaOf(tx.Statement.ConnPool)
	if rep == nil {
		return
	}
	err := tx.Error
	if err == nil || errors.Is(err, gorm.ErrRecordNotFound) {
		rep.counter.Inc()
		return
	}
	if tx.Statement.Context.Err() != nil {
		return // the caller gave up: not the replica's failure
	}
	r.markDown(rep, err)
	tx.Error = nil
	tx.Statement.ConnPool = r.primary
	r.query(tx)
}

// afterRow counts a read through Rows (Scan, Pluck, Rows) a replica
// answered. One that failed there took the replica out of use and is run
// again, once, on the primary, as in afterQuery: the query itself failed,
// so no row has reached the caller yet. (A Row()'s error comes with its
// Scan, after this callback: that read fails once, and the replica is out
// of use from its next probe.)
func (r *Replicas) afterRow(tx *gorm.DB) {
	rep := r.replicaOf(tx.Statement.ConnPool)
	if rep == nil {
		return
	}
	err := tx.Error
	if err == nil {
		rep.counter.Inc()
		return
	}
	if tx.Statement.Context.Err() != nil {
		return // the caller gave up: not the replica's failure
	}
	r.markDown(rep, err)
	if tx.Statement.SQL.Len() == 0 {
		return // not built: the statement's own error, not the replica's
	}
	tx.Error = nil
	tx.Statement.ConnPool = r.primary
	// gorm:row consumed the setting that asks for Rows rather than Row.
	tx.Statement.Settings.Store("rows", true)
	r.row(tx)
}

// Usable is how many replicas may answer reads now.
func (r *Replicas) Usable() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, p := range r.replicas {
		if p.usable.Load() {
			n++
		}
	}
	return n
}

// Start probes every replica once (so that healthy ones serve at once), then
// keeps probing them every Interval until ctx ends or Close.
func (r *Replicas) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(ctx)
	r.done = make(chan struct{})
	r.probeAll(ctx)
	go func() {
		defer close(r.done)
		tick := time.NewTicker(r.interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				r.probeAll(ctx)
			}
		}
	}()
}

func (r *Replicas) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range r.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.probeOne(ctx, p)
		}()
	}
	wg.Wait()
}

// probeOne checks that the replica answers and replicates with a lag of at
// most maxLag. A probe is bounded by the interval (at least a second): a
// replica slower than that to answer SELECT 1 is not one to send reads to.
func (r *Replicas) probeOne(ctx context.Context, p *replica) {
	ctx, cancel := context.WithTimeout(ctx, max(r.interval, time.Second))
	defer cancel()
	var one int
	err := p.db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	var lag *time.Duration
	var statusErr error
	if err == nil {
		lag, statusErr = r.probe(ctx, p.db)
	}
	if errors.Is(err, context.Canceled) || errors.Is(statusErr, context.Canceled) {
		return // shutting down
	}
	switch {
	case err != nil:
		r.setState(p, false, nil, "不可达："+firstLine(err))
	case statusErr != nil:
		// Often a missing privilege: REPLICATION CLIENT (MySQL), SLAVE
		// MONITOR (MariaDB 10.5+).
		r.setState(p, false, nil, "无法读取复制状态："+firstLine(statusErr))
	case lag == nil:
		r.setState(p, false, nil, "未在复制（复制线程停止或尚未配置）")
	case *lag > r.maxLag:
		r.setState(p, false, lag, fmt.Sprintf("复制延迟 %s 超过上限 %s", *lag, r.maxLag))
	default:
		r.setState(p, true, lag, "")
	}
}

// markDown takes a replica out of use after a failed read, until a probe
// finds it well again.
func (r *Replicas) markDown(p *replica, err error) {
	r.setState(p, false, nil, "查询失败："+firstLine(err))
}

// setState records a replica's state and logs a change of usability once.
func (r *Replicas) setState(p *replica, usable bool, lag *time.Duration, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	was := p.usable.Swap(usable)
	p.lag, p.reason = lag, reason
	if p.known && was == usable {
		return
	}
	p.known = true
	if usable {
		r.log.Info("只读副本可用，公开目录和统计查询由副本执行", "replica", p.name, "lag", lagText(lag))
	} else {
		r.log.Warn("只读副本不可用，原由副本执行的查询改由主库执行", "replica", p.name, "reason", reason)
	}
}

func lagText(lag *time.Duration) string {
	if lag == nil {
		return "unknown"
	}
	return lag.String()
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// Ready fails while any replica is not usable, for an Optional readiness
// check: reads it would answer go to the primary meanwhile (degraded).
func (r *Replicas) Ready(context.Context) error {
	if n := r.Usable(); n < len(r.replicas) {
		return fmt.Errorf("%d of %d read replicas usable", n, len(r.replicas))
	}
	return nil
}

// Status describes each replica for /readyz.
func (r *Replicas) Status() any {
	out := make([]map[string]any, 0, len(r.replicas))
	for _, p := range r.replicas {
		p.mu.Lock()
		s := map[string]any{"replica": p.name, "usable": p.usable.Load()}
		if p.lag != nil {
			s["lagSeconds"] = p.lag.Seconds()
		}
		if p.reason != "" {
			s["reason"] = p.reason
		}
		p.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// Collectors are the replicas' metrics: the statements each answered and
// how many are usable.
func (r *Replicas) Collectors() []prometheus.Collector {
	return []prometheus.Collector{ReplicaQueriesTotal,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_db_replicas_usable", Help: "Read replicas usable now (answering, replicating, lag within bound)."},
			func() float64 { return float64(r.Usable()) })}
}

// Close stops the probing and closes the replicas' connections.
func (r *Replicas) Close() error {
	if r == nil {
		return nil
	}
	if r.stop != nil {
		r.stop()
		<-r.done
	}
	var errs []error
	for _, p := range r.replicas {
		errs = append(errs, p.db.Close())
	}
	return errors.Join(errs...)
}

// replicationLag reads a MariaDB or MySQL replica's Seconds_Behind_Master
// (Seconds_Behind_Source on MySQL 8.0.22+); nil when it does not replicate:
// the SQL or I/O thread is stopped, or the server is no replica at all. It
// reads the status of the default replication connection.
func replicationLag(ctx context.Context, db *sql.DB) (*time.Duration, error) {
	rows, err := db.QueryContext(ctx, "SHOW REPLICA STATUS")
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) && me.Number == 1064 { // before MariaDB 10.5.1, MySQL 8.0.22
		rows, err = db.QueryContext(ctx, "SHOW SLAVE STATUS")
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	if !rows.Next() {
		return nil, rows.Err()
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		if c == "Seconds_Behind_Master" || c == "Seconds_Behind_Source" {
			if vals[i] == nil {
				return nil, nil
			}
			var secs int64
			if _, err := fmt.Sscan(string(vals[i]), &secs); err != nil {
				return nil, fmt.Errorf("%s: %w", c, err)
			}
			lag := time.Duration(secs) * time.Second
			return &lag, nil
		}
	}
	return nil, errors.New("replica status has no Seconds_Behind_Master")
}
