package app

import (
	"context"
	"crypto/ecdsa"
	"fmt"

	"govmobile/gm"
	"govmobile/payment"
	"govmobile/payment/sandbox"
)

// setupPayments connects unified payment to its channel: the configured
// one, or in dev mode the sandbox channel in this process.
func (a *App) setupPayments() error {
	cfg := payment.Config{NotifyURL: a.Config.PublicURL + payment.NotifyPath, Logger: a.Config.Logger}
	sign := a.PlatformSigner()
	switch {
	case a.Config.PayChannelURL != "":
		pub, err := gm.ParseSM2PublicKey(a.Config.PayChannelPublicKey)
		if err != nil {
			return fmt.Errorf("--pay-channel-public-key: %w", err)
		}
		cfg.Channel = &payment.HTTPChannel{BaseURL: a.Config.PayChannelURL, MerchantID: a.Config.PayMerchantID, ChannelKey: pub, Sign: sign}
	case a.Config.Dev:
		key, err := gm.GenerateSM2Key()
		if err != nil {
			return err
		}
		base := a.Config.PublicURL + "/sandbox/pay"
		a.PaySandbox = sandbox.New(sandbox.Config{MerchantID: a.Config.PayMerchantID, Key: key, PublicURL: base, Logger: a.Config.Logger,
			PlatformKeys: func(ctx context.Context, keyID string) ([]*ecdsa.PublicKey, error) {
				k, err := a.PlatformKeys.Lookup(ctx, keyID)
				if err != nil || k == nil {
					return nil, err
				}
				return []*ecdsa.PublicKey{k.Public}, nil
			}})
		cfg.Channel = &payment.HTTPChannel{Label: "SANDBOX", BaseURL: base, MerchantID: a.Config.PayMerchantID, ChannelKey: a.PaySandbox.PublicKey(), Sign: sign}
		a.Config.Logger.Warn("开发模式：缴费使用进程内沙箱支付渠道（/sandbox/pay/），不产生真实扣款；生产环境请配置 --pay-channel-url")
	}
	a.Payments = payment.New(a.DB, cfg, a.Messages)
	return nil
}

// PlatformSigner signs with the current platform key (tests connect a
// sandbox channel with it).
func (a *App) PlatformSigner() func(ctx context.Context, msg []byte) ([]byte, string, error) {
	return func(ctx context.Context, msg []byte) ([]byte, string, error) {
		k, err := a.PlatformKeys.Current(ctx)
		if err != nil {
			return nil, "", err
		}
		sig, err := k.Sign(msg)
		return sig, k.ID, err
	}
}
