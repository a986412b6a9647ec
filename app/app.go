// Package app wires govmobile together: database, migrations, demo data,
// keys, domain services and the HTTP surface. server.go calls it with flags;
// the integration tests call it with a temporary data directory. It holds no
// business rules of its own.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"govmobile/agentchat"
	"govmobile/analytics"
	"govmobile/appointment"
	"govmobile/apps"
	"govmobile/audit"
	"govmobile/bus"
	"govmobile/cases"
	"govmobile/catalogue"
	"govmobile/consult"
	"govmobile/database"
	"govmobile/demoapp"
	"govmobile/evaluation"
	"govmobile/filing"
	"govmobile/gm"
	"govmobile/httpapi"
	"govmobile/identity"
	"govmobile/iface"
	"govmobile/incident"
	"govmobile/license"
	"govmobile/lightapp"
	"govmobile/loaders"
	"govmobile/logistics"
	lsandbox "govmobile/logistics/sandbox"
	"govmobile/messages"
	"govmobile/models"
	"govmobile/outbound"
	"govmobile/payment"
	"govmobile/payment/sandbox"
	"govmobile/platformkey"
	"govmobile/ratelimit"
	"govmobile/resolvers"
	"govmobile/seal"
	"govmobile/search"
	"govmobile/servicecode"
	"govmobile/viewer"
	"govmobile/web"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gorm.io/gorm"
)

// Config is the run contract of SPEC §2.
type Config struct {
	Addr          string
	DataDir       string
	DatabaseURL   string
	AdminPassword string
	MasterKeyFile string
	Dev           bool
	TicketTTL     time.Duration
	// RectificationDays is how many working days an agency has to rectify
	// after a bad rating (default 15).
	RectificationDays int
	// OutboundAllow lists the networks source interfaces may be reached on
	// beyond public addresses (tests: 127.0.0.1); OutboundHTTP accepts
	// http:// interface addresses (always in dev mode).
	OutboundAllow []netip.Prefix
	OutboundHTTP  bool
	// InterfaceWhitelist lists the providers that admit the platform by
	// address (9.4.4 b): host names, *.domain, addresses or CIDRs. An
	// interface in whitelist mode must be at one of them.
	InterfaceWhitelist []string
	// HealthInterval is how often each approved interface is checked
	// (default 1 min).
	HealthInterval time.Duration
	// RequestTimeout bounds every GraphQL request.
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a GraphQL request body.
	MaxBodyBytes int64
	// FilesDir holds uploaded files (case materials, attachments, app
	// packages); "" is DataDir/files. Replicas must share it (a shared
	// volume); each keeps its own DataDir for its search index.
	FilesDir string
	// MaxInflight bounds the GraphQL operations executing at once (the rest
	// wait their turn, httpapi.Admit); 0 is DefaultInflightPerCPU per CPU,
	// negative is no bound.
	MaxInflight int
	// ResponseCacheBytes is the public response cache's budget; 0 disables it.
	ResponseCacheBytes int64
	// SearchPollInterval is how often the search outbox is read for writes
	// made by other replicas (default 500 ms); writes in this process are
	// applied at once.
	SearchPollInterval time.Duration
	// PublicURL is the platform's address as outside parties reach it (the
	// payment channel's notifications); default http://127.0.0.1:<port>.
	PublicURL string
	// PayChannelURL, PayChannelPublicKey and PayMerchantID configure the
	// payment channel (8.3.2 d); without a URL payments are unavailable,
	// except in dev mode, where the sandbox channel runs in-process at
	// /sandbox/pay/.
	PayChannelURL       string
	PayChannelPublicKey string
	PayMerchantID       string
	// CarrierURL, CarrierSecret and CarrierName configure the courier
	// company of the logistics service (8.3.2 e); without a URL mailing is
	// unavailable, except in dev mode, where the sandbox carrier runs
	// in-process at /sandbox/carrier/.
	CarrierURL    string
	CarrierSecret string
	CarrierName   string
	// EventRetention is how long raw behaviour events are kept (default 90
	// days); their hourly and daily aggregates are kept for ever.
	EventRetention time.Duration
	// RateIPPerSecond and RateTicketPerSecond bound the requests of one
	// client address and of one login ticket (a burst of twice as many is
	// allowed); 0 turns a limit off. TrustedProxies are the load balancers
	// whose X-Forwarded-For names the client.
	RateIPPerSecond     float64
	RateTicketPerSecond float64
	TrustedProxies      []netip.Prefix
	// PersistedQueries, when set, is the allowlist of operations (SHA-256
	// → text): only they run. Without it, clients may use Automatic
	// Persisted Queries.
	PersistedQueries map[string]string
	// Bus carries live events (messages, chat lines) between replicas:
	// "nats" (NatsURL), "redis" (RedisURL) or "local"; "" is nats when
	// NatsURL is set, in-process otherwise (bus.Choose). While the bus is
	// down each replica delivers its own events only. BusPrefix namespaces
	// the subjects ("govmobile"): deployments sharing a server need their own.
	Bus       string
	NatsURL   string
	BusPrefix string
	// RedisURL is the Redis server shared by the replicas (redis://…).
	// When set, rate limits count there, across replicas (ratelimit.Redis;
	// in-process while it is unavailable).
	RedisURL string
	// DatabaseReplicas are MySQL read replicas of DatabaseURL (mysql://
	// URLs). Only the public catalogue and the statistics are read there
	// (httpapi.ReplicaReads), from replicas answering with a replication lag
	// of at most ReplicaMaxLag (default 5 s); everything else, and every
	// read when none is usable, goes to the primary.
	DatabaseReplicas []string
	ReplicaMaxLag    time.Duration
	// SkipDemo leaves the catalogue empty (tests that load their own data).
	SkipDemo bool
	Logger   *slog.Logger
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	if c.Addr == "" {
		c.Addr = ":8080"
	}
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "govmobile.db")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if c.FilesDir == "" {
		c.FilesDir = filepath.Join(c.DataDir, "files")
	}
	if c.TicketTTL == 0 {
		c.TicketTTL = identity.DefaultTicketTTL
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 15 * time.Second
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultInflightPerCPU * runtime.GOMAXPROCS(0)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PublicURL == "" {
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.ReplicaMaxLag == 0 {
		c.ReplicaMaxLag = 5 * time.Second
	}
	if c.PayMerchantID == "" {
		c.PayMerchantID = "GOVMOBILE"
	}
}

// DefaultInflightPerCPU is how many GraphQL operations execute at once per
// CPU by default: enough to keep the CPUs busy while some wait on the
// database, few enough that each runs at nearly full speed (docs/benchmarks.md
// §9).
const DefaultInflightPerCPU = 4

// App is a running govmobile.
type App struct {
	Config    Config
	DB        *gorm.DB
	Dialect   database.Dialect
	Catalogue *catalogue.Service
	Identity  *identity.Service
	Search    *search.Service
	// Appointments books citizens into hall time slots.
	Appointments *appointment.Service
	// Cases keeps online applications and their handling.
	Cases *cases.Service
	// Messages is the message centre; Bus delivers messages live.
	Messages *messages.Service
	Bus      *messages.Bus
	// Broker carries live events between replicas (Config.Bus).
	Broker *bus.Bus
	// Replicas are the MySQL read replicas (Config.DatabaseReplicas); nil
	// without.
	Replicas *database.Replicas
	// RateStore keeps the rate limits' buckets in Redis (Config.RedisURL);
	// nil keeps them in this process.
	RateStore *ratelimit.Redis
	// Files keeps the materials uploaded for cases.
	Files *cases.Files
	// PlatformKeys are the platform's SM2 signing keys; ServiceCodes signs
	// enterprise and personal codes with them.
	PlatformKeys *platformkey.Ring
	ServiceCodes *servicecode.Service
	// Evaluations keeps 好差评 and rectifications.
	Evaluations *evaluation.Service
	// Consultations keeps consultations, complaints and suggestions.
	Consultations *consult.Service
	// Attachments keeps consultations' attachments.
	Attachments *consult.Attachments
	// Chats keeps the human customer-service chats.
	Chats *agentchat.Service
	// Audit is the administrators' audit log.
	Audit *audit.Service

	closeOnce sync.Once
	// Interfaces keeps apps' source interfaces and the sensitive-word list.
	Interfaces *iface.Service
	// Apps keeps service applications through their life cycle.
	Apps *apps.Service
	// Filings keeps mobile terminals' filings (clause 10).
	Filings *filing.Service
	// LightApps lets third-party apps log users in (9.2).
	LightApps *lightapp.Service
	// Seals keeps agencies' electronic seals (8.3.2 b).
	Seals *seal.Service
	// Licenses keeps electronic licences (8.3.2 c).
	Licenses *license.Service
	// Payments keeps fee items, payment orders and reconciliations
	// (8.3.2 d); PaySandbox is the in-process sandbox channel (dev mode
	// without a configured channel).
	Payments   *payment.Service
	PaySandbox *sandbox.Server
	// Logistics keeps cases' shipments (8.3.2 e); nil without a carrier.
	// CarrierSandbox is the in-process sandbox carrier (dev mode).
	Logistics      *logistics.Service
	CarrierSandbox *lsandbox.Sandbox
	// Events records behaviour events off the request path; Analytics
	// rolls them up and answers the console (8.3.1 c, 8.3.3 c).
	Events    *analytics.Recorder
	Analytics *analytics.Service
	eventsRun chan struct{}
	// Incidents keeps operations incidents and runbooks (8.6).
	Incidents *incident.Service
	keys      *gm.Keyring
	// Demo is the demo light app, in dev mode only.
	Demo    *demoapp.App
	Handler http.Handler
	// stop ends the background work started by New (the index applier).
	stop context.CancelFunc
	done chan struct{}
}

// New opens the database, migrates it, loads the demo catalogue on first
// start and builds the HTTP handler.
func New(ctx context.Context, cfg Config) (*App, error) {
	cfg.Defaults()
	log := cfg.Logger
	if cfg.RedisURL != "" {
		if _, err := ratelimit.ParseRedisURL(cfg.RedisURL); err != nil {
			return nil, fmt.Errorf("--redis-url (REDIS_URL): %w", err)
		}
	}
	db, dialect, err := database.Open(database.Config{DSN: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, DB: db, Dialect: dialect}
	if err := a.openReplicas(); err != nil {
		a.Close()
		return nil, err
	}
	// The bus is connected before the startup lock is taken: a silent bus
	// must not hold up the other replicas starting.
	if a.Broker, err = a.openBroker(); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.prepare(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.openSearch(); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.RedisURL != "" {
		if a.RateStore, err = ratelimit.OpenRedis(cfg.RedisURL, ratelimit.RedisOptions{Logger: log}); err != nil {
			a.Close()
			return nil, fmt.Errorf("--redis-url (REDIS_URL): %w", err)
		}
	}
	a.Handler = a.routes()
	a.eventsRun = make(chan struct{})
	go func() {
		defer close(a.eventsRun)
		a.Events.Run(context.Background())
	}()
	return a, nil
}

// openSearch opens the search index and starts keeping it in step with the
// database: it is built on first start, caught up from the outbox on every
// start, and searches answer UNAVAILABLE only until the first build is done.
func (a *App) openSearch() error {
	var err error
	a.Search, err = search.Open(search.Config{
		DB: a.DB, Dir: filepath.Join(a.Config.DataDir, "search"),
		Source: a.Catalogue.SearchSource(), Logger: a.Config.Logger, PollInterval: a.Config.SearchPollInterval,
	})
	if err != nil {
		return err
	}
	a.Catalogue.SetSearch(a.Search)
	a.Consultations.SetIndexed(a.Search.Notify)
	ctx, stop := context.WithCancel(context.Background())
	if len(a.Config.DatabaseReplicas) > 0 {
		// Public catalogue reads lag behind by up to the allowed lag, plus
		// what the lag figure hides: it is reported in whole seconds, and
		// may grow for a probe interval (1 s) before a probe sees it.
		a.Catalogue.SetReadLag(a.Config.ReplicaMaxLag + 2*time.Second)
	}
	// A catalogue write on any replica moves every replica's caches on
	// and wakes its index (catalogue/invalidate.go); a key rotation makes
	// every replica reread the platform keys.
	if err := a.Catalogue.ShareChanges(ctx, a.Broker); err != nil {
		stop()
		return err
	}
	if err := a.PlatformKeys.ShareRotations(a.Broker); err != nil {
		stop()
		return err
	}
	a.stop, a.done = stop, make(chan struct{})
	go func() {
		defer close(a.done)
		a.Search.Run(ctx)
	}()
	return nil
}

// Reindex rebuilds the search index from the database (the reindex command).
func Reindex(ctx context.Context, cfg Config) error {
	cfg.Defaults()
	cfg.SkipDemo = true
	db, dialect, err := database.Open(database.Config{DSN: cfg.DatabaseURL, Logger: cfg.Logger})
	if err != nil {
		return err
	}
	a := &App{Config: cfg, DB: db, Dialect: dialect}
	defer a.Close()
	if err := a.prepare(ctx); err != nil {
		return err
	}
	if a.Search, err = search.Open(search.Config{DB: a.DB, Dir: filepath.Join(cfg.DataDir, "search"),
		Source: a.Catalogue.SearchSource(), Logger: cfg.Logger}); err != nil {
		return err
	}
	return a.Search.Rebuild(ctx)
}

// prepare migrates, seeds and loads keys, under the startup lock so that
// replicas starting together do this once.
func (a *App) prepare(ctx context.Context) error {
	return database.WithStartupLock(ctx, a.DB, a.Dialect, func() error { return a.prepareLocked(ctx) })
}

func (a *App) prepareLocked(ctx context.Context) error {
	log := a.Config.Logger
	from, to, err := database.Migrate(ctx, a.DB)
	if err != nil {
		return err
	}
	if from != to {
		log.Info("数据库已迁移", "from", from, "to", to, "dialect", a.Dialect)
	}
	if n, err := catalogue.SeedRegions(ctx, a.DB); err != nil {
		return fmt.Errorf("load regions: %w", err)
	} else if n > 0 {
		log.Info("已载入行政区划", "count", n)
	}
	if a.Catalogue, err = catalogue.New(ctx, a.DB); err != nil {
		return err
	}
	if !a.Config.SkipDemo {
		if n, err := a.Catalogue.SeedDemo(ctx); err != nil {
			return fmt.Errorf("load demo catalogue: %w", err)
		} else if n > 0 {
			log.Info("已载入演示事项目录", "matters", n)
		}
		if apps, entries, err := a.Catalogue.SeedDemoExtras(ctx); err != nil {
			return fmt.Errorf("load demo apps and knowledge base: %w", err)
		} else if apps+entries > 0 {
			log.Info("已载入演示服务应用和知识库", "apps", apps, "entries", entries)
		}
	}
	master, err := gm.LoadOrCreateMasterKey(a.Config.MasterKeyFile)
	if err != nil {
		return err
	}
	keys, err := identity.LoadKeyring(ctx, a.DB, master)
	if err != nil {
		return err
	}
	a.Identity = identity.New(a.DB, keys)
	if a.PlatformKeys, err = platformkey.Open(ctx, a.DB, master, servicecode.Lifetime); err != nil {
		return err
	}
	a.ServiceCodes = servicecode.New(a.PlatformKeys)
	a.Appointments = appointment.New(a.DB, appointment.Config{})
	if a.Broker == nil { // Reindex: no live events to carry
		a.Broker = bus.NewLocal()
	}
	if a.Bus, err = messages.NewBus(a.Broker); err != nil {
		return err
	}
	a.Messages = messages.New(a.DB, a.Bus)
	a.Catalogue.SetMessages(a.Messages)
	a.Cases = cases.New(a.DB, a.Messages)
	a.Cases.Keys = keys
	a.Evaluations = evaluation.New(a.DB, a.Messages, a.Config.RectificationDays)
	a.Consultations = consult.New(a.DB, a.Messages)
	if a.Chats, err = agentchat.New(a.DB, a.Broker); err != nil {
		return err
	}
	a.Audit = audit.New(a.DB)
	a.Interfaces = iface.New(a.DB, outbound.New(outbound.Config{Allow: a.Config.OutboundAllow, HTTPSOnly: !(a.Config.Dev || a.Config.OutboundHTTP)}),
		iface.Options{Keys: keys, PlatformKeys: a.PlatformKeys, Whitelist: a.Config.InterfaceWhitelist})
	if a.Files, err = cases.NewFiles(a.DB, a.Config.FilesDir); err != nil {
		return err
	}
	a.Apps = apps.New(a.DB, a.Interfaces, func(code string) bool { return a.Catalogue.Regions().Get(code) != nil },
		func() {
			if a.Search != nil {
				a.Search.Notify()
			}
		}, a.Config.Dev || a.Config.OutboundHTTP)
	a.Filings = filing.New(a.DB, keys)
	a.LightApps = lightapp.New(a.DB, keys, a.Identity, a.PlatformKeys)
	a.Seals = seal.New(a.DB, keys)
	a.Licenses = license.New(a.DB, keys, a.Identity, a.Seals, a.PlatformKeys)
	a.LightApps.Licenses = func(ctx context.Context, userID uint64) (any, error) { return a.Licenses.SharedWith(ctx, userID) }
	// Result documents are sealed with their agency's seal on upload.
	a.Files.OnResult = func(tx *gorm.DB, agencyID uint64, f *models.CaseFile) error {
		_, err := a.Seals.SealAgencyDocument(tx, agencyID, f.SM3, f.ID)
		return err
	}
	if a.Config.Dev && !a.Config.SkipDemo {
		if a.Demo, err = demoapp.Setup(ctx, a.DB, a.LightApps, a.PlatformKeys, a.Config.DataDir,
			func(id uint64) string { return resolvers.GlobalID("App", id) }, a.Config.Logger); err != nil {
			return err
		}
	}
	a.Attachments = consult.NewAttachments(a.DB, a.Files)
	if err := a.setupPayments(); err != nil {
		return err
	}
	a.keys = keys
	if err := a.setupLogistics(); err != nil {
		return err
	}
	a.Events = analytics.NewRecorder(a.DB, analytics.RecorderConfig{Logger: a.Config.Logger})
	a.Incidents = incident.New(a.DB)
	a.recordDomainEvents()
	a.Analytics = analytics.New(a.DB, analytics.Config{Retention: a.Config.EventRetention, Logger: a.Config.Logger})
	a.Identity.TicketTTL = a.Config.TicketTTL
	password, generated := a.Config.AdminPassword, false
	if password == "" {
		password, generated = randomPassword(), true
	}
	created, err := identity.EnsureAdmin(ctx, a.DB, password)
	if err != nil {
		return fmt.Errorf("create bootstrap admin: %w", err)
	}
	if created && generated {
		// Logged once, on the start that creates the account (SPEC §2).
		log.Warn("已创建超级管理员 admin，随机初始密码只显示这一次，请妥善保存并尽快修改", "username", "admin", "password", password)
	}
	return nil
}

// openReplicas registers the read replicas and starts probing them.
func (a *App) openReplicas() error {
	r, err := database.UseReplicas(a.DB, a.Dialect, database.ReplicaConfig{DSNs: a.Config.DatabaseReplicas,
		MaxLag: a.Config.ReplicaMaxLag, Logger: a.Config.Logger})
	if err != nil {
		return fmt.Errorf("--db-replicas (DATABASE_REPLICAS): %w", err)
	}
	if r != nil {
		a.Replicas = r
		r.Start(context.Background())
	}
	return nil
}

// openBroker connects the bus that carries live events between replicas.
func (a *App) openBroker() (*bus.Bus, error) {
	kind, url, err := bus.Choose(a.Config.Bus, a.Config.NatsURL, a.Config.RedisURL)
	if err != nil {
		return nil, err
	}
	cfg := bus.Config{Kind: kind, URL: url, Prefix: a.Config.BusPrefix, Logger: a.Config.Logger}
	if kind != bus.Local {
		// Events on a shared bus are signed with a key derived from the
		// master key, which every replica holds and no bus server does.
		// Reading the key file needs no startup lock (its creation is
		// exclusive), and prepare reads the same file.
		master, err := gm.LoadOrCreateMasterKey(a.Config.MasterKeyFile)
		if err != nil {
			return nil, err
		}
		cfg.Key = bus.DeriveKey(master)
	}
	b, err := bus.New(cfg)
	if err != nil {
		return nil, err
	}
	if kind != bus.Local {
		a.Config.Logger.Info("实时事件经消息总线在副本间传递", "bus", kind, "available", b.Available())
	}
	return b, nil
}

func randomPassword() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return "Gm-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// publicRootFields are the root fields whose answers are the same for every
// caller, and so may be served from the response cache.
// Searches are not among them: each one is logged for hot searches.
var publicRootFields = []string{"matters", "matter", "navigation", "regions", "region", "themes", "searchSuggestions"}

// limiter is a rate limit of perSecond with a burst of twice as many, in
// Redis when one is configured.
func (a *App) limiter(perSecond float64) ratelimit.Limiter {
	if a.RateStore != nil {
		return a.RateStore.Limiter(perSecond, int(2*perSecond))
	}
	return ratelimit.NewLocal(perSecond, int(2*perSecond))
}

func (a *App) routes() http.Handler {
	cfg, log := a.Config, a.Config.Logger
	root := &resolvers.Resolver{Catalogue: a.Catalogue, Identity: a.Identity, Searcher: a.Search, Appointments: a.Appointments, Cases: a.Cases, Messages: a.Messages, Bus: a.Bus, Files: a.Files,
		PlatformKeys: a.PlatformKeys, ServiceCodes: a.ServiceCodes, Evaluations: a.Evaluations,
		Consultations: a.Consultations, ConsultationFiles: a.Attachments, Chats: a.Chats, Audit: a.Audit, Interfaces: a.Interfaces, Apps: a.Apps, Filings: a.Filings, LightApps: a.LightApps, Seals: a.Seals, Licenses: a.Licenses, Payments: a.Payments, Logistics: a.Logistics, Events: a.Events, Analytics: a.Analytics, Incidents: a.Incidents}
	limits := httpapi.RateLimits{Exempt: []string{"/healthz", "/readyz", "/metrics", payment.NotifyPath, logistics.WebhookPath}}
	if cfg.RateIPPerSecond > 0 {
		limits.PerIP = a.limiter(cfg.RateIPPerSecond)
	}
	if cfg.RateTicketPerSecond > 0 {
		limits.PerTicket = a.limiter(cfg.RateTicketPerSecond)
	}
	gql := httpapi.NewGraphQL(root, cfg.Dev, cfg.PersistedQueries, limits, log)
	var auth viewer.Authenticator = a.Identity
	if a.Replicas != nil {
		// Queries made only of public catalogue fields or statistics may be
		// answered by a read replica; everything else, and who is asking,
		// is read on the primary.
		gql.AroundOperations(httpapi.NewReplicaReads(slices.Concat(publicRootFields, httpapi.ReportRootFields)).AroundOperations)
		auth = httpapi.PrimaryAuth(a.Identity)
	}
	var api http.Handler = httpapi.MediaStatus(gql)
	api = loaders.Middleware(a.Catalogue, a.Cases, a.Files, api)
	api = viewer.Middleware(auth, api)
	// Cache hits do not wait for a turn.
	api = httpapi.Admit(cfg.MaxInflight, api)
	if cfg.ResponseCacheBytes > 0 {
		rc := httpapi.NewResponseCache(publicRootFields, a.Catalogue.Generation, time.Minute, cfg.ResponseCacheBytes)
		api = rc.Middleware(api)
	}
	api = httpapi.Guard(httpapi.Limits{MaxBodyBytes: cfg.MaxBodyBytes, Timeout: cfg.RequestTimeout}, api)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), database.QueriesTotal)
	reg.MustRegister(httpapi.Collectors()...)
	reg.MustRegister(analytics.Collectors()...)
	if a.RateStore != nil {
		reg.MustRegister(a.RateStore.Collectors()...)
	}
	reg.MustRegister(a.Broker.Collectors()...)
	if a.Replicas != nil {
		reg.MustRegister(a.Replicas.Collectors()...)
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_search_index_lag_rows", Help: "Outbox rows not yet applied to this replica's search index."},
			func() float64 { n, _ := a.Search.Lag(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_search_index_lag_seconds", Help: "Age of the oldest outbox row not yet applied to the search index."},
			func() float64 { _, d := a.Search.Lag(); return d.Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "govmobile_search_index_ready", Help: "1 when the search index can answer."},
			func() float64 {
				if a.Search.Ready() {
					return 1
				}
				return 0
			}),
	)

	mux := http.NewServeMux()
	mux.Handle("/graphql", httpapi.Observe(log, "graphql", api))
	files := httpapi.Observe(log, "files", viewer.Middleware(a.Identity, httpapi.Files(a.Files, a.Attachments, a.Audit, log)))
	mux.Handle("/files", files)
	mux.Handle("/files/", files)
	appFiles := httpapi.Observe(log, "app-files", viewer.Middleware(a.Identity, httpapi.AppFiles(httpapi.AppFilesDeps{DB: a.DB, Apps: a.Apps,
		Filings: a.Filings, Store: a.Files, AppInRegion: root.AppInRegion, FilingInScope: root.FilingInScope, Log: log})))
	mux.Handle("/app-files", appFiles)
	mux.Handle(lightapp.ExchangePath, httpapi.Observe(log, "user-info", a.LightApps.Handler(log)))
	mux.Handle("GET /jssdk/index.js", web.JSSDK())
	mux.Handle(httpapi.AppSealPath, httpapi.Observe(log, "app-seal", httpapi.AppSeal(a.LightApps, a.Seals, log)))
	mux.Handle("GET /seals/{id}/image", httpapi.Observe(log, "seal-image", httpapi.SealImage(a.Seals, log)))
	mux.Handle(payment.NotifyPath, httpapi.Observe(log, "pay-notify", a.Payments.NotifyHandler()))
	exchangeDeps := httpapi.CatalogueDeps{DB: a.DB, Catalogue: a.Catalogue, Audit: a.Audit, Log: log}
	mux.Handle("GET "+httpapi.ExportPath, httpapi.Observe(log, "catalogue-export", viewer.Middleware(a.Identity, httpapi.CatalogueExport(exchangeDeps))))
	mux.Handle("POST "+httpapi.ImportPath, httpapi.Observe(log, "catalogue-import", viewer.Middleware(a.Identity, httpapi.CatalogueImport(exchangeDeps))))
	if a.Logistics != nil {
		mux.Handle(logistics.WebhookPath, httpapi.Observe(log, "carrier-webhook", a.Logistics.WebhookHandler()))
	}
	if a.CarrierSandbox != nil {
		mux.Handle("/sandbox/carrier/", http.StripPrefix("/sandbox/carrier", a.CarrierSandbox))
	}
	if a.PaySandbox != nil {
		mux.Handle("/sandbox/pay/", http.StripPrefix("/sandbox/pay", a.PaySandbox.Handler()))
	}
	mux.Handle("GET /licenses/{id}/file", httpapi.Observe(log, "license-file", viewer.Middleware(a.Identity, httpapi.LicenseFile(a.Licenses, log))))
	if a.Demo != nil {
		mux.Handle("/demo/lightapp/", a.Demo.Handler())
	}
	mux.Handle("/app-files/", appFiles)
	if cfg.Dev {
		mux.Handle("/graphiql", httpapi.Observe(log, "graphiql", web.GraphiQL("/graphql")))
		mux.Handle("/graphiql/static/", web.GraphiQL("/graphql"))
	} else {
		mux.Handle("/graphiql", web.GraphiQLDisabled())
	}
	mux.Handle("GET /privacy", httpapi.Observe(log, "privacy", web.Privacy()))
	mux.Handle("GET /healthz", web.Healthz())
	ready := []web.Check{{Name: "database", Fn: func(ctx context.Context) error {
		err := database.Ping(ctx, a.DB)
		if err != nil {
			log.Error("readiness: database unavailable", "err", err)
		}
		return err
	}}, {Name: "searchIndex", Fn: func(ctx context.Context) error {
		if !a.Search.Ready() {
			return errors.New("search index not built yet")
		}
		return nil
	}, Detail: func() any {
		rows, age := a.Search.Lag()
		return map[string]any{"lagRows": rows, "lagSeconds": age.Seconds()}
	}}}
	if a.RateStore != nil {
		// Without Redis limits count per replica: degraded, still serving.
		ready = append(ready, web.Check{Name: "rateLimitStore", Fn: a.RateStore.Ready, Detail: a.RateStore.Status, Optional: true})
	}
	if a.Broker.Kind() != bus.Local {
		// Without the bus each replica delivers its own live events only:
		// degraded, still serving (the gauge govmobile_bus_available too).
		ready = append(ready, web.Check{Name: "messageBus", Optional: true, Fn: func(context.Context) error {
			if !a.Broker.Available() {
				return errors.New("message bus unavailable")
			}
			return nil
		}})
	}
	if a.Replicas != nil {
		// Without a usable replica its reads go to the primary: degraded,
		// still serving (the gauge govmobile_db_replicas_usable too).
		ready = append(ready, web.Check{Name: "readReplicas", Fn: a.Replicas.Ready, Detail: a.Replicas.Status, Optional: true})
	}
	mux.Handle("GET /readyz", web.Readyz(ready...))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return httpapi.RealIP(cfg.TrustedProxies, httpapi.SecurityHeaders(httpapi.Limit(limits, mux)))
}

// Serve runs the HTTP server until ctx ends, then drains for up to 10 s.
func (a *App) Serve(ctx context.Context) error {
	srv := &http.Server{
		Addr:              a.Config.Addr,
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      a.Config.RequestTimeout + 15*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	// The background work ends with ctx; Serve waits for it, so that Close
	// never closes the database under a job (a lease left held would stall
	// the next process).
	work, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, job := range []func(context.Context){
		a.housekeeping,
		func(ctx context.Context) { a.Interfaces.RunHealthChecks(ctx, a.HealthConfig()) },
		func(ctx context.Context) { a.Analytics.RunMaintenance(ctx, leaseHolder(), 10*time.Minute) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job(work)
		}()
	}
	defer func() {
		stop()
		wg.Wait()
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// HealthConfig is the interface health scheduler's configuration.
func (a *App) HealthConfig() iface.HealthConfig {
	return iface.HealthConfig{Interval: a.Config.HealthInterval, Logger: a.Config.Logger, OnChecked: a.recordChecks,
		OnBad: func(ctx context.Context, ids []uint64) {
			if err := a.Apps.OnBadInterfaces(ctx, ids); err != nil && ctx.Err() == nil {
				a.Config.Logger.Warn("自动下线不稳定的应用失败", "error", err)
			}
		}}
}

// housekeeping removes stale tickets and login counters every hour.
func (a *App) housekeeping(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	var swept time.Time
	for {
		if n, err := a.Identity.Cleanup(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed stale tickets and login counters", "rows", n)
		}
		if n, err := a.Search.PruneOutbox(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed applied search outbox rows", "rows", n)
		}
		if n, err := a.Search.PruneLog(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed search log rows older than a year", "rows", n)
		}
		if time.Since(swept) > 24*time.Hour {
			swept = time.Now()
			if n, err := a.Files.Sweep(ctx, time.Now()); err != nil && ctx.Err() == nil {
				a.Config.Logger.Error("housekeeping failed", "err", err)
			} else if n > 0 {
				a.Config.Logger.Info("housekeeping removed stored files no row names", "files", n)
			}
		}
		if n, err := a.LightApps.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed used app tickets and nonces", "rows", n)
		}
		if n, err := a.Cases.SealLegacy(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping sealed the form values of earlier releases' cases", "cases", n)
		}
		if n, err := a.Payments.ExpireOrders(ctx, 500); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping closed unpaid orders past their time", "orders", n)
		}
		if runs, err := a.Payments.ReconcileDue(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("daily reconciliation failed", "err", err)
		} else {
			for _, run := range runs {
				a.Config.Logger.Info("daily reconciliation", "day", run.Day, "status", run.Status, "issues", run.Issues)
			}
		}
		if n, err := a.Payments.FinishPendingRefunds(ctx, 200); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping settled pending refunds", "refunds", n)
		}
		if a.Logistics != nil {
			if n, err := a.Logistics.PruneRejections(ctx, time.Now().Add(-90*24*time.Hour)); err != nil && ctx.Err() == nil {
				a.Config.Logger.Error("housekeeping failed", "err", err)
			} else if n > 0 {
				a.Config.Logger.Info("housekeeping removed old refused carrier webhooks", "rows", n)
			}
		}
		if n, err := a.Payments.PruneNotifications(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed old refused payment notifications", "rows", n)
		}
		if n, err := a.Apps.PruneUsers(ctx); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if n > 0 {
			a.Config.Logger.Info("housekeeping removed old app-open marks", "rows", n)
		}
		if merged, err := a.Search.Compact(ctx, search.MaxLiveSegments); err != nil && ctx.Err() == nil {
			a.Config.Logger.Error("housekeeping failed", "err", err)
		} else if merged {
			a.Config.Logger.Info("housekeeping merged the search index into one segment")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Close stops the index applier, closes the index and releases the database;
// a second call does nothing.
func (a *App) Close() { a.closeOnce.Do(a.close) }

func (a *App) close() {
	if a.eventsRun != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.Events.Close(ctx); err != nil {
			a.Config.Logger.Warn("behaviour events not all written at shutdown", "err", err)
		}
		cancel()
		<-a.eventsRun
	}
	if a.stop != nil {
		a.stop()
		<-a.done
		a.Catalogue.StopSharing() // its last event is queued before the bus closes
	}
	if a.Search != nil {
		_ = a.Search.Close()
	}
	if a.RateStore != nil {
		_ = a.RateStore.Close()
	}
	if a.Broker != nil {
		_ = a.Broker.Close()
	}
	_ = a.Replicas.Close()
	if sqlDB, err := a.DB.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
