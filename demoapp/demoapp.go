// Package demoapp is a demo H5 light app, served in dev mode at
// /demo/lightapp/, that runs 9.2's whole flow in a browser: its page loads
// the JSSDK, logs the user in, obtains a one-time ticket, and hands it to
// its "server" (POST /demo/lightapp/api/session), which exchanges it with
// the platform over real HTTP through the decrypt SDK, exactly as an
// outside app's server would, and shows the user's name masked.
package demoapp

import (
	"context"
	"crypto/ecdsa"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"gorm.io/gorm"

	"govmobile/apps"
	"govmobile/gm"
	"govmobile/lightapp"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/platformkey"
	"govmobile/sdk"
)

// Code is the demo app's code.
const Code = "demo-lightapp"

//go:embed index.html
var page string

// App is the running demo.
type App struct {
	id     uint64
	gid    string
	client *sdk.Client
	keys   *platformkey.Ring
	log    *slog.Logger
}

// Setup makes sure the demo app exists (online, identity-required, asking
// for the name and identity number), with its SM2 key kept in dataDir, and
// takes a fresh data key for this process. gid turns an app ID into its
// global ID.
func Setup(ctx context.Context, db *gorm.DB, la *lightapp.Service, keys *platformkey.Ring, dataDir string, gid func(uint64) string, log *slog.Logger) (*App, error) {
	var a models.App
	err := db.WithContext(ctx).Where("code = ?", Code).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		now := time.Now().UTC()
		a = models.App{Code: Code, Name: "演示轻应用", Summary: "演示第三方应用通过票据获取用户信息（9.2）。", Category: "演示",
			URL: "/demo/lightapp/", Kind: string(apps.Identity), Status: string(apps.Online), Online: true, Grade: 1, Version: 1,
			Aliases: []string{}, CreatedAt: now, UpdatedAt: now}
		err = db.WithContext(ctx).Create(&a).Error
	}
	if err != nil {
		return nil, fmt.Errorf("demo app: %w", err)
	}
	keyFile := filepath.Join(dataDir, "demo-lightapp.key")
	priv, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, err
	}
	if _, err := la.SetCredentials(ctx, a.ID, gm.SM2PublicKeyHex(&priv.PublicKey), []string{"idNumber", "name"}); err != nil {
		return nil, fmt.Errorf("demo app credentials: %w", err)
	}
	version, encrypted, err := la.IssueDataKey(ctx, a.ID)
	if err != nil {
		return nil, fmt.Errorf("demo app data key: %w", err)
	}
	dataKey, err := sdk.DecryptDataKey(priv, encrypted)
	if err != nil {
		return nil, err
	}
	return &App{id: a.ID, gid: gid(a.ID), keys: keys, log: log,
		client: &sdk.Client{AppID: Code, PrivateKey: priv, DataKeys: map[int][]byte{version: dataKey}}}, nil
}

func loadOrCreateKey(path string) (*sm2.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return sdk.ParsePrivateKey(string(b))
	}
	priv, err := gm.GenerateSM2Key()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(gm.SM2PrivateKeyHex(priv)), 0o600); err != nil {
		return nil, fmt.Errorf("demo app key: %w", err)
	}
	return priv, nil
}

// Handler serves the demo's page and its server's one endpoint.
func (d *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /demo/lightapp/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(strings.ReplaceAll(page, "{{APP_ID}}", d.gid)))
	})
	mux.HandleFunc("POST /demo/lightapp/api/session", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Ticket string }
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in) != nil || in.Ticket == "" {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": "缺少票据。"})
			return
		}
		info, err := d.exchange(r, in.Ticket)
		if err != nil {
			var e *sdk.Error
			msg := "换取用户信息失败。"
			if errors.As(err, &e) {
				msg = e.Message
			} else {
				d.log.Warn("demo app exchange failed", "err", err)
			}
			w.WriteHeader(http.StatusBadGateway)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
			return
		}
		// The app shows personal data masked (9.4.5).
		_ = json.NewEncoder(w).Encode(map[string]string{"name": mask.Name(info["name"]), "idNumber": mask.IDNumber(info["idNumber"]), "openId": info["openId"]})
	})
	return mux
}

// exchange trades the ticket with the platform at the address the page
// came from, over HTTP, as an outside server would.
func (d *App) exchange(r *http.Request, ticket string) (map[string]string, error) {
	keys, err := d.keys.Keys(r.Context())
	if err != nil {
		return nil, err
	}
	pubs := map[string]*ecdsa.PublicKey{}
	for _, k := range keys {
		pubs[k.ID] = k.Public
	}
	// The platform is this very server: its listening address, not the
	// request's Host header (which the client chose).
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return nil, errors.New("demo app: no local address")
	}
	c := *d.client
	c.BaseURL, c.PlatformKeys = "http://"+addr.String(), pubs
	return c.Exchange(r.Context(), ticket)
}
