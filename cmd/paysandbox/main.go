// Command paysandbox runs the sandbox payment channel (payment/sandbox) as
// its own HTTP server, for developing against govmobile's unified payment
// and for integrators who build a channel adapter. It moves no money.
//
//	go run ./cmd/paysandbox -platform-public-key 04… -merchant-id GOVMOBILE
//
// It prints its own public key; start govmobile with
// --pay-channel-url http://127.0.0.1:8090 --pay-channel-public-key <that key>.
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"govmobile/gm"
	"govmobile/payment/sandbox"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "监听地址")
	publicURL := flag.String("public-url", "", "付款页的对外地址（默认 http://<addr>）")
	merchant := flag.String("merchant-id", "GOVMOBILE", "商户号：平台请求中 X-App-Id 的值")
	platformKeys := flag.String("platform-public-key", "", "验证平台请求的平台公钥（十六进制 04… 或 PEM），逗号分隔可给多个；见 GraphQL platformPublicKeys")
	keyFile := flag.String("key-file", "paysandbox.key", "渠道签名私钥文件（十六进制）；不存在时生成")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *publicURL, *merchant, *platformKeys, *keyFile, log); err != nil {
		fmt.Fprintln(os.Stderr, "paysandbox:", err)
		os.Exit(1)
	}
}

func run(addr, publicURL, merchant, platformKeys, keyFile string, log *slog.Logger) error {
	var pubs []*ecdsa.PublicKey
	for _, k := range strings.Split(platformKeys, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		pub, err := gm.ParseSM2PublicKey(k)
		if err != nil {
			return fmt.Errorf("-platform-public-key: %w", err)
		}
		pubs = append(pubs, pub)
	}
	if len(pubs) == 0 {
		return errors.New("-platform-public-key is required: the sandbox verifies every platform request")
	}
	key, err := loadOrCreateKey(keyFile)
	if err != nil {
		return err
	}
	if publicURL == "" {
		publicURL = "http://" + addr
	}
	s := sandbox.New(sandbox.Config{MerchantID: merchant, Key: key, PublicURL: publicURL, Logger: log,
		PlatformKeys: func(context.Context, string) ([]*ecdsa.PublicKey, error) { return pubs, nil }})
	fmt.Printf("sandbox channel public key (--pay-channel-public-key): %s\n", gm.SM2PublicKeyHex(&key.PublicKey))
	srv := &http.Server{Addr: addr, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("paysandbox listening", "addr", addr, "merchant", merchant)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

func loadOrCreateKey(path string) (*sm2.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return gm.ParseSM2PrivateKeyHex(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := gm.GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(gm.SM2PrivateKeyHex(key)+"\n"), 0o600)
}
