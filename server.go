// Command govmobile is the GraphQL backend-for-frontend of the national
// integrated government-service platform's mobile terminal
// (全国一体化政务服务平台移动端). `go run .` serves the demo catalogue on an
// embedded SQLite database; see README.md and `go run . -h`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"govmobile/app"
	"govmobile/bus"
	"govmobile/database"
	"govmobile/httpapi"
	"govmobile/ratelimit"
)

// env returns the environment variable or a default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// envBool is a boolean environment variable, false when unset or not a
// boolean (which the configuration then refuses).
func envBool(name string) bool {
	v, _ := strconv.ParseBool(os.Getenv(name))
	return v
}

// options are the flags of SPEC §2; each has an environment variable.
type options struct {
	addr, dataDir, filesDir, db, adminPassword, masterKeyFile, logLevel, dev string
	ticketTTL                                                                time.Duration
	cacheMB, rectificationDays, maxInflight                                  int
	outboundAllow                                                            string
	outboundHTTP                                                             bool
	whitelist                                                                string
	healthInterval, eventRetention                                           time.Duration
	publicURL, payURL, payKey, payMerchant                                   string
	carrierURL, carrierSecret, carrierName                                   string
	trustedProxies, persisted                                                string
	rateIP, rateTicket                                                       float64
	redisURL                                                                 string
	natsURL, busKind, busPrefix                                              string
	dbReplicas                                                               string
	replicaMaxLag                                                            time.Duration
}

func defineFlags(fs *flag.FlagSet) *options {
	o := &options{}
	fs.StringVar(&o.addr, "addr", env("ADDR", ":8080"), "监听地址 (ADDR)")
	fs.StringVar(&o.dataDir, "data-dir", env("DATA_DIR", "./data"), "数据目录：SQLite 数据库、搜索索引、主密钥 (DATA_DIR)")
	fs.StringVar(&o.filesDir, "files-dir", env("FILES_DIR", ""), "上传文件目录（办件材料、附件、应用安装包）；默认 <data-dir>/files；多个副本须共用同一个（共享卷）(FILES_DIR)")
	fs.StringVar(&o.db, "db", env("DATABASE_URL", ""), "数据库：sqlite://PATH 或 mysql://USER:PASS@tcp(HOST:PORT)/DB?...；默认 sqlite://<data-dir>/govmobile.db (DATABASE_URL)")
	fs.StringVar(&o.dbReplicas, "db-replicas", env("DATABASE_REPLICAS", ""), "MySQL 只读副本：逗号分隔的 mysql://USER:PASS@tcp(HOST:PORT)/DB?...（DSN 中的逗号写作 %2C）；只有公开事项目录和统计查询由副本执行，其余查询和全部写入走 --db 主库；副本不可用或延迟超过 --db-replica-max-lag 时改由主库执行 (DATABASE_REPLICAS)")
	maxLag, err := time.ParseDuration(env("DATABASE_REPLICA_MAX_LAG", "5s"))
	if err != nil {
		maxLag = -1 // refused by config
	}
	fs.DurationVar(&o.replicaMaxLag, "db-replica-max-lag", maxLag, "只读副本可容忍的复制延迟（Seconds_Behind_Master），超过即不用该副本，1s 至 10m (DATABASE_REPLICA_MAX_LAG)")
	fs.StringVar(&o.adminPassword, "admin-password", env("ADMIN_PASSWORD", ""), "首次启动时超级管理员 admin 的密码；不设置则随机生成并在日志中显示一次 (ADMIN_PASSWORD)")
	fs.StringVar(&o.masterKeyFile, "master-key-file", env("MASTER_KEY_FILE", ""), "SM4 主密钥文件（密钥加密密钥）；不存在时生成，权限 0600；默认 <data-dir>/master.key (MASTER_KEY_FILE)")
	o.dev = env("DEV_MODE", "auto")
	fs.Var((*devFlag)(&o.dev), "dev", "开发模式：开启内省和 GraphiQL。--dev 即 true；也可为 false 或 auto（auto：内嵌 SQLite 时开启，MySQL 时关闭）(DEV_MODE)")
	fs.StringVar(&o.logLevel, "log-level", env("LOG_LEVEL", "info"), "日志级别：debug、info、warn、error (LOG_LEVEL)")
	ttl, err := time.ParseDuration(env("TICKET_TTL", "12h"))
	if err != nil {
		ttl = 12 * time.Hour
	}
	fs.DurationVar(&o.ticketTTL, "ticket-ttl", ttl, "登录票据有效期 (TICKET_TTL)")
	cache, _ := strconv.Atoi(env("RESPONSE_CACHE_MB", "32"))
	fs.IntVar(&o.cacheMB, "response-cache-mb", cache, "公开目录查询响应缓存的容量（MB），0 为关闭 (RESPONSE_CACHE_MB)")
	days, _ := strconv.Atoi(env("RECTIFICATION_DAYS", "15"))
	fs.IntVar(&o.rectificationDays, "rectification-days", days, "差评整改期限（工作日）(RECTIFICATION_DAYS)")
	fs.StringVar(&o.outboundAllow, "outbound-allow", env("OUTBOUND_ALLOW", ""), "源接口可访问的内网地址段，逗号分隔的 CIDR（默认只允许公网地址）(OUTBOUND_ALLOW)")
	fs.BoolVar(&o.outboundHTTP, "outbound-http", envBool("OUTBOUND_HTTP"), "允许以明文 http:// 调用源接口（政务外网内未启用 TLS 的接口）；默认只允许 https://，开发模式下总是允许 (OUTBOUND_HTTP)")
	fs.StringVar(&o.whitelist, "interface-whitelist", env("INTERFACE_WHITELIST", ""), "白名单鉴权的接口提供方：逗号分隔的主机名（*.example.gov.cn 表示其子域名）、地址或 CIDR (INTERFACE_WHITELIST)")
	interval, err := time.ParseDuration(env("HEALTH_INTERVAL", "1m"))
	if err != nil {
		interval = time.Minute
	}
	fs.DurationVar(&o.healthInterval, "health-interval", interval, "每个已审核接口的健康检查间隔 (HEALTH_INTERVAL)")
	fs.StringVar(&o.publicURL, "public-url", env("PUBLIC_URL", ""), "平台的对外地址（支付渠道回调通知用），默认 http://127.0.0.1:<端口> (PUBLIC_URL)")
	fs.StringVar(&o.payURL, "pay-channel-url", env("PAY_CHANNEL_URL", ""), "支付渠道地址（GOVPAY1 协议，见 payment/README.md）；不设置时：开发模式使用进程内沙箱渠道，否则缴费不可用 (PAY_CHANNEL_URL)")
	fs.StringVar(&o.payKey, "pay-channel-public-key", env("PAY_CHANNEL_PUBLIC_KEY", ""), "支付渠道的 SM2 公钥（十六进制 04… 或 PEM），验证通知、查询和对账单 (PAY_CHANNEL_PUBLIC_KEY)")
	fs.StringVar(&o.payMerchant, "pay-merchant-id", env("PAY_MERCHANT_ID", "GOVMOBILE"), "在支付渠道的商户号 (PAY_MERCHANT_ID)")
	retention, err := time.ParseDuration(env("EVENT_RETENTION", "2160h"))
	if err != nil {
		retention = 90 * 24 * time.Hour
	}
	fs.DurationVar(&o.eventRetention, "event-retention", retention, "行为事件原始记录的保留时间（至少9天，默认90天）；按小时和按天的汇总永久保留 (EVENT_RETENTION)")
	ipRate, err := strconv.ParseFloat(env("RATE_IP", "50"), 64)
	if err != nil {
		ipRate = -1 // refused by config: a typo must not turn the limit off
	}
	fs.Float64Var(&o.rateIP, "rate-ip", ipRate, "每个客户端地址每秒的请求数上限（可突发两倍），0 为不限 (RATE_IP)")
	ticketRate, err := strconv.ParseFloat(env("RATE_TICKET", "20"), 64)
	if err != nil {
		ticketRate = -1
	}
	fs.Float64Var(&o.rateTicket, "rate-ticket", ticketRate, "每个登录票据每秒的请求数上限（可突发两倍），0 为不限 (RATE_TICKET)")
	fs.StringVar(&o.redisURL, "redis-url", env("REDIS_URL", ""), "副本共用的 Redis（redis://[用户:密码@]主机:6379/库号，TLS 用 rediss://）：设置后限流在所有副本间合计；Redis 不可用时各副本在本进程内限流，恢复后自动切回 (REDIS_URL)")
	inflight, err := strconv.Atoi(env("MAX_INFLIGHT", "0"))
	if err != nil {
		inflight = -2 // refused by config: a typo must not lift the bound
	}
	fs.IntVar(&o.maxInflight, "max-inflight", inflight, "同时执行的 GraphQL 操作上限，其余按到达顺序排队；0 为每个 CPU 4 个，-1 为不限 (MAX_INFLIGHT)")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", env("TRUSTED_PROXIES", ""), "可信的负载均衡或网关地址段（逗号分隔的 CIDR）：来自它们的请求按 X-Forwarded-For 取客户端地址 (TRUSTED_PROXIES)")
	fs.StringVar(&o.persisted, "persisted-queries", env("PERSISTED_QUERIES", ""), "查询白名单文件（JSON 对象：查询语句的 SHA-256 十六进制 → 查询语句；Apollo、Relay 的清单需转换为此格式）：设置后只执行其中的查询（生产环境）(PERSISTED_QUERIES)")
	fs.StringVar(&o.carrierURL, "carrier-url", env("CARRIER_URL", ""), "快递公司接口地址（见 logistics/README.md）；不设置时：开发模式使用进程内沙箱快递，否则寄递不可用 (CARRIER_URL)")
	fs.StringVar(&o.carrierSecret, "carrier-secret", env("CARRIER_SECRET", ""), "与快递公司约定的 HMAC-SM3 密钥，至少16字节，用于下单请求和轨迹推送 (CARRIER_SECRET)")
	fs.StringVar(&o.carrierName, "carrier-name", env("CARRIER_NAME", "sandbox"), "快递公司名称（运单号在同一快递公司内唯一）(CARRIER_NAME)")
	fs.StringVar(&o.natsURL, "nats-url", env("NATS_URL", ""), "NATS 服务器地址（nats://HOST:4222，TLS 用 tls://）：设置后多个副本经 NATS 互传实时事件（办件消息、客服会话）(NATS_URL)")
	fs.StringVar(&o.busPrefix, "bus-prefix", env("BUS_PREFIX", "govmobile"), "消息总线主题前缀：共用同一 NATS 或 Redis 的各部署（如测试与生产、不同省份）必须各不相同，否则会收到对方的事件 (BUS_PREFIX)")
	fs.StringVar(&o.busKind, "bus", env("BUS", ""), "副本间传递实时事件的消息总线：nats、redis（用 --redis-url）或 local（只在本进程内）；默认设置了 --nats-url 时为 nats，否则为 local。总线不可用时各副本只向自己的连接投递，恢复后自动切回 (BUS)")
	return o
}

// replicas checks --db-replicas and --db-replica-max-lag: MySQL read
// replicas of a MySQL primary. Errors never quote a password.
func (o *options) replicas(cfg *app.Config) error {
	list, err := database.ParseReplicaList(o.dbReplicas)
	if err != nil {
		return fmt.Errorf("--db-replicas (DATABASE_REPLICAS): %w", err)
	}
	if len(list) > 0 {
		if dialect, _, err := database.ParseDSN(o.db); o.db == "" || err != nil || dialect != database.MySQL {
			return fmt.Errorf("--db-replicas (DATABASE_REPLICAS): read replicas need a MySQL primary (--db mysql://…); SQLite has none")
		}
	}
	if o.replicaMaxLag < time.Second || o.replicaMaxLag > 10*time.Minute {
		return fmt.Errorf("--db-replica-max-lag (DATABASE_REPLICA_MAX_LAG): want 1s to 10m")
	}
	cfg.DatabaseReplicas, cfg.ReplicaMaxLag = list, o.replicaMaxLag
	return nil
}

// devFlag is --dev: a boolean flag (bare --dev means true) that also takes "auto".
type devFlag string

func (d *devFlag) String() string { return string(*d) }
func (d *devFlag) Set(v string) error {
	if v != "auto" {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("want true, false or auto")
		}
	}
	*d = devFlag(v)
	return nil
}
func (d *devFlag) IsBoolFlag() bool { return true }

func (o *options) config(log *slog.Logger) (app.Config, error) {
	cfg := app.Config{
		Addr: o.addr, DataDir: o.dataDir, FilesDir: o.filesDir, DatabaseURL: o.db, AdminPassword: o.adminPassword,
		MasterKeyFile: o.masterKeyFile, TicketTTL: o.ticketTTL, Logger: log,
		ResponseCacheBytes: int64(o.cacheMB) << 20, RectificationDays: o.rectificationDays,
		EventRetention: o.eventRetention, RateIPPerSecond: o.rateIP, RateTicketPerSecond: o.rateTicket, MaxInflight: o.maxInflight,
		CarrierURL: o.carrierURL, CarrierSecret: o.carrierSecret, CarrierName: o.carrierName,
		PublicURL: o.publicURL, PayChannelURL: o.payURL, PayChannelPublicKey: o.payKey, PayMerchantID: o.payMerchant,
	}
	cfg.NatsURL, cfg.Bus, cfg.BusPrefix = o.natsURL, o.busKind, o.busPrefix
	if err := o.replicas(&cfg); err != nil {
		return cfg, err
	}
	if !validBusPrefix(o.busPrefix) {
		return cfg, fmt.Errorf("--bus-prefix (BUS_PREFIX): want letters, digits, - and _ only, got %q", o.busPrefix)
	}
	if _, _, err := bus.Choose(o.busKind, o.natsURL, o.redisURL); err != nil {
		return cfg, err
	}
	if o.persisted != "" {
		list, err := httpapi.LoadPersistedQueries(o.persisted)
		if err != nil {
			return cfg, fmt.Errorf("--persisted-queries: %w", err)
		}
		cfg.PersistedQueries = list
	}
	if o.maxInflight < -1 {
		return cfg, fmt.Errorf("--max-inflight (MAX_INFLIGHT): want a number of operations, 0 (4 per CPU) or -1 (no bound)")
	}
	if o.redisURL != "" {
		if _, err := ratelimit.ParseRedisURL(o.redisURL); err != nil {
			return cfg, fmt.Errorf("--redis-url (REDIS_URL): %w", err)
		}
		cfg.RedisURL = o.redisURL
	}
	if o.rateIP < 0 || o.rateTicket < 0 {
		return cfg, fmt.Errorf("--rate-ip and --rate-ticket (RATE_IP, RATE_TICKET): want a number, 0 (no limit) or more")
	}
	var err error
	if cfg.TrustedProxies, err = prefixes("trusted-proxies", o.trustedProxies); err != nil {
		return cfg, err
	}
	if o.eventRetention < 9*24*time.Hour {
		return cfg, fmt.Errorf("--event-retention: want at least 216h (9 days: events may arrive 7 days late), got %s", o.eventRetention)
	}
	if o.payURL != "" && o.payKey == "" {
		return cfg, fmt.Errorf("--pay-channel-url needs --pay-channel-public-key")
	}
	if cfg.OutboundAllow, err = prefixes("outbound-allow", o.outboundAllow); err != nil {
		return cfg, err
	}
	if v, ok := os.LookupEnv("OUTBOUND_HTTP"); ok {
		if _, err := strconv.ParseBool(v); err != nil {
			return cfg, fmt.Errorf("OUTBOUND_HTTP: want true or false, got %q", v)
		}
	}
	cfg.OutboundHTTP = o.outboundHTTP
	for _, w := range strings.Split(o.whitelist, ",") {
		if w = strings.TrimSpace(w); w != "" {
			cfg.InterfaceWhitelist = append(cfg.InterfaceWhitelist, w)
		}
	}
	if o.healthInterval < 10*time.Second || o.healthInterval > 24*time.Hour {
		return cfg, fmt.Errorf("--health-interval: want 10s to 24h, got %s", o.healthInterval)
	}
	cfg.HealthInterval = o.healthInterval
	if o.rectificationDays < 1 || o.rectificationDays > 365 {
		return cfg, fmt.Errorf("--rectification-days: want 1 to 365 working days, got %d", o.rectificationDays)
	}
	cfg.Defaults()
	dialect, _, err := database.ParseDSN(cfg.DatabaseURL)
	if err != nil {
		return cfg, err
	}
	switch strings.ToLower(o.dev) {
	case "auto", "":
		cfg.Dev = dialect == database.SQLite
	default:
		b, err := strconv.ParseBool(o.dev)
		if err != nil {
			return cfg, fmt.Errorf("--dev: want true, false or auto, got %q", o.dev)
		}
		cfg.Dev = b
	}
	return cfg, nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

const usage = `govmobile — 全国一体化政务服务平台移动端 GraphQL 服务

用法:
  govmobile [参数]                                启动服务
  govmobile seed --synthetic-matters N [参数]      追加 N 个合成事项（规模测试用）
  govmobile reindex [参数]                        从数据库重建搜索索引（须先停止使用同一数据目录的服务）

端点: /graphql (POST/GET), /graphiql, /healthz, /readyz, /metrics, /privacy

参数（括号内为对应的环境变量）:
`

func main() {
	args := os.Args[1:]
	seed := len(args) > 0 && args[0] == "seed"
	reindex := len(args) > 0 && args[0] == "reindex"
	if seed || reindex {
		args = args[1:]
	}
	fs := flag.NewFlagSet("govmobile", flag.ExitOnError)
	o := defineFlags(fs)
	synthetic := 0
	if seed {
		fs.IntVar(&synthetic, "synthetic-matters", 0, "seed: 追加的合成事项数量")
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	_ = fs.Parse(args)
	restrictFiles()
	log := newLogger(o.logLevel)
	slog.SetDefault(log)
	cfg, err := o.config(log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "配置错误:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if reindex {
		start := time.Now()
		if err := app.Reindex(ctx, cfg); err != nil {
			log.Error("reindex failed", "err", err)
			os.Exit(1)
		}
		fmt.Printf("搜索索引已重建，用时 %.1f 秒\n", time.Since(start).Seconds())
		return
	}
	if err := run(ctx, cfg, seed, synthetic); err != nil {
		log.Error("govmobile stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg app.Config, seed bool, synthetic int) error {
	a, err := app.New(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if seed {
		if synthetic <= 0 {
			return fmt.Errorf("seed needs --synthetic-matters N (N > 0)")
		}
		return a.Catalogue.SeedSynthetic(ctx, synthetic, os.Stdout)
	}
	if cfg.Dev {
		cfg.Logger.Warn("开发模式：内省与 GraphiQL 已开启；生产环境请使用 --dev=false")
	}
	cfg.Logger.Info("govmobile listening", "addr", cfg.Addr, "dialect", a.Dialect, "dev", cfg.Dev)
	return a.Serve(ctx)
}

// prefixes reads a flag's comma-separated CIDRs or addresses.
func prefixes(flag, list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			if a, aerr := netip.ParseAddr(c); aerr == nil {
				p, err = a.Prefix(a.BitLen())
			}
		}
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a CIDR or an address", flag, c)
		}
		out = append(out, p)
	}
	return out, nil
}

// validBusPrefix: a prefix is one NATS subject token (and a Redis channel
// part): letters, digits, hyphens and underscores.
func validBusPrefix(p string) bool {
	if p == "" || len(p) > 64 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
