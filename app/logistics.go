package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"govmobile/logistics"
	"govmobile/logistics/carrier"
	lsandbox "govmobile/logistics/sandbox"
	"govmobile/messages"
	"govmobile/models"

	"gorm.io/gorm"
)

// setupLogistics connects the logistics service to its carrier: the
// configured one, or in dev mode the sandbox carrier in this process. With
// neither, mailing answers UNAVAILABLE.
func (a *App) setupLogistics() error {
	url, secret, name := a.Config.CarrierURL, []byte(a.Config.CarrierSecret), a.Config.CarrierName
	if url == "" {
		if !a.Config.Dev {
			return nil
		}
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		url, name = a.Config.PublicURL+"/sandbox/carrier", "sandbox"
		a.Config.Logger.Warn("开发模式：寄递使用进程内沙箱快递（/sandbox/carrier/），不会真实寄件；生产环境请配置 --carrier-url")
		a.CarrierSandbox = lsandbox.New(lsandbox.Config{Secret: secret, WebhookURL: a.Config.PublicURL + logistics.WebhookPath, Logger: a.Config.Logger})
	}
	svc, err := logistics.New(a.DB, a.keys, logistics.Config{Carrier: carrier.NewClient(url, secret, nil), CarrierName: name,
		WebhookSecret: secret, OnStatus: a.tellShipment, Logger: a.Config.Logger, ApplicantNames: a.applicantNames})
	if err != nil {
		return fmt.Errorf("logistics: %w", err)
	}
	a.Logistics = svc
	return nil
}

// tellShipment writes the applicant a message when their parcel moves.
func (a *App) tellShipment(ctx context.Context, sh *models.Shipment) {
	label := logistics.Status(sh.Status).Label()
	what := logistics.Direction(sh.Direction).Label()
	err := a.Messages.Transaction(context.WithoutCancel(ctx), a.DB, func(tx *gorm.DB, ob *messages.Outbox) error {
		return ob.Write(tx, &models.Message{UserID: sh.UserID, Title: "寄递进度：" + label,
			Body:   fmt.Sprintf("您办件的%s快件（运单号 %s）：%s。", what, sh.WaybillNo, label),
			Target: models.TargetCase, TargetID: sh.CaseID})
	})
	if err != nil {
		a.Config.Logger.Warn("shipment message failed", "shipment", sh.ID, "err", err)
	}
}

// leaseHolder names this process in database leases: host, process and a
// random part, so two processes on one host differ.
func leaseHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// applicantNames are the names a case's result may be mailed to: the
// applicant's, and their organisation's.
func (a *App) applicantNames(ctx context.Context, userID uint64) ([]string, error) {
	var u models.User
	if err := a.DB.WithContext(ctx).Take(&u, userID).Error; err != nil {
		return nil, err
	}
	p, err := a.Identity.Profile(&u)
	if err != nil {
		return nil, err
	}
	names := []string{p.RealName}
	if p.OrganizationName != nil {
		names = append(names, *p.OrganizationName)
	}
	return names, nil
}
