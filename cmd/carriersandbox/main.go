// Command carriersandbox serves the stand-in courier company of package
// logistics/sandbox on a loopback port, for integrators and manual tests
// of the logistics service (8.3.2 e): the platform opens waybills on it
// (--carrier-url), and it delivers signed tracking webhooks to the
// platform (--webhook-url) when a waybill is advanced, by hand
// (POST /v1/waybills/{no}/advance) or every --auto-interval. See
// logistics/README.md.
//
// It listens on loopback only unless --allow-remote is given: it is a
// sandbox, not a carrier, and must never receive real citizens' data.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"govmobile/logistics/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "carriersandbox:", err)
		}
		os.Exit(2)
	}
}

// env returns the environment variable or a default.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// run serves until ctx ends; ready, when set, is told the address
// listened on.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("carriersandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", env("CARRIER_SANDBOX_ADDR", "127.0.0.1:8089"), "监听地址，默认只在本机回环地址上监听 (CARRIER_SANDBOX_ADDR)")
	webhook := fs.String("webhook-url", env("CARRIER_WEBHOOK_URL", ""), "平台接收物流轨迹推送的地址，如 http://127.0.0.1:8080/logistics/webhook；为空则不推送 (CARRIER_WEBHOOK_URL)")
	secret := fs.String("secret", env("CARRIER_SECRET", ""), "与平台共享的签名密钥，至少16个字节 (CARRIER_SECRET)")
	auto := fs.Duration("auto-interval", 0, "每隔这么久把每个在途运单推进一步并推送轨迹，0 为只手动推进")
	attempts := fs.Int("attempts", 3, "每条轨迹推送的最多尝试次数")
	retryWait := fs.Duration("retry-wait", 500*time.Millisecond, "第一次重试前的等待时间，之后每次加倍")
	allowRemote := fs.Bool("allow-remote", false, "允许在非回环地址上监听")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(*secret) < 16 {
		return errors.New("--secret (or CARRIER_SECRET) must have at least 16 bytes")
	}
	if *webhook != "" {
		if u, err := url.Parse(*webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--webhook-url must be an http(s) URL")
		}
	}
	if !*allowRemote && !loopback(*addr) {
		return fmt.Errorf("--addr %s is not a loopback address; give --allow-remote to listen there", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	sb := sandbox.New(sandbox.Config{Secret: []byte(*secret), WebhookURL: *webhook, Attempts: *attempts, RetryWait: *retryWait, Logger: log})
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute}
	if *auto > 0 {
		go sb.Run(ctx, *auto)
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("carrier sandbox listening", "addr", ln.Addr().String(), "webhook", *webhook, "auto_interval", auto.String())
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loopback reports whether addr's host is a loopback address or localhost
// (an empty host means every interface).
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
