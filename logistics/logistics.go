// Package logistics is the logistics service of cases (物流服务, 8.3.2 e:
// 寄件、物流查询): an applicant mails a case's materials to the agency's hall,
// an agency mails a case's result to the applicant; the courier company
// (package carrier) opens the waybill and reports the parcel's progress by
// signed webhooks; applicants and staff follow the tracking history.
//
// It must never store a sender's or receiver's name, phone or address in
// clear (they are sealed by the keyring, and shown only masked), never let
// a user see another user's shipment or staff another agency's (both are
// NOT_FOUND, as for a shipment that does not exist), never write a shipment
// the carrier has not accepted, and never apply a carrier event twice or
// move a shipment's status backwards.
package logistics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/gm"
	"govmobile/logistics/carrier"
	"govmobile/models"
)

// Direction is which way a shipment goes.
type Direction string

// The directions.
const (
	MaterialsToHall Direction = "MATERIALS_TO_HALL" // the applicant mails materials to the agency's hall
	ResultToUser    Direction = "RESULT_TO_USER"    // the agency mails the case's result to the applicant
)

// Label is the direction in Chinese.
func (d Direction) Label() string {
	switch d {
	case MaterialsToHall:
		return "邮寄申请材料"
	case ResultToUser:
		return "邮寄办理结果"
	}
	return string(d)
}

// Who created a shipment (models.Shipment.CreatedBy).
const (
	ByApplicant = "APPLICANT"
	ByStaff     = "STAFF"
)

// materialsExpected are the case statuses in which the agency expects
// paper materials: submitted and awaiting acceptance (the originals are
// checked on acceptance), accepted (accepted with originals to follow,
// 容缺受理), and asked for supplements. A draft is no application yet; once
// processing has started, or the case has ended, a parcel of materials
// would have nobody waiting for it.
var materialsExpected = []cases.Status{cases.Submitted, cases.Accepted, cases.NeedsSupplement}

// resultReady are the case statuses with a result to mail: completed (the
// result document) and rejected (the decision not to accept, and the
// originals returned).
var resultReady = []cases.Status{cases.Completed, cases.Rejected}

// CarrierTimeout bounds a call to the carrier within a request.
const CarrierTimeout = 10 * time.Second

// Config is what the service needs besides the database and the keyring.
type Config struct {
	// Carrier opens and cancels waybills.
	Carrier carrier.Carrier
	// CarrierName names the carrier in the tables (default "sandbox"); a
	// waybill number is unique per carrier.
	CarrierName string
	// WebhookSecret is the shared secret of the carrier's webhooks (at
	// least 16 bytes).
	WebhookSecret []byte
	// OnStatus, when set, is called after a shipment's status changed and
	// the change was committed (creation, each applied event,
	// cancellation): the app publishes the notification. It runs in the
	// request that made the change and should be quick.
	OnStatus func(ctx context.Context, sh *models.Shipment)
	// Logger receives carrier failures and rejected webhooks, never
	// personal data.
	Logger *slog.Logger
	// ApplicantNames gives the names a result may be addressed to: the
	// applicant's real name, and their organisation's name for a company.
	// Without it any receiver is taken.
	ApplicantNames func(ctx context.Context, userID uint64) ([]string, error)
}

// Service keeps shipments.
type Service struct {
	db   *gorm.DB
	keys *gm.Keyring
	cfg  Config
	now  func() time.Time

	// rejections bounds how many rejected webhooks are recorded per
	// minute: a forger's flood is logged, not stored.
	rejMu     sync.Mutex
	rejWindow time.Time
	rejCount  int
}

// New returns the logistics service.
func New(db *gorm.DB, keys *gm.Keyring, cfg Config) (*Service, error) {
	if cfg.Carrier == nil {
		return nil, errors.New("logistics: no carrier")
	}
	if len(cfg.WebhookSecret) < 16 {
		return nil, errors.New("logistics: the webhook secret must have at least 16 bytes")
	}
	if cfg.CarrierName == "" {
		cfg.CarrierName = "sandbox"
	}
	if len(cfg.CarrierName) > 32 || cfg.CarrierName == platform {
		return nil, fmt.Errorf("logistics: carrier name %q too long or reserved", cfg.CarrierName)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.WebhookSecret = append([]byte(nil), cfg.WebhookSecret...)
	return &Service{db: db, keys: keys, cfg: cfg, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Caller is who acts: an applicant (UserID), or a staff member (StaffID)
// acting for their agency (AgencyID).
type Caller struct {
	UserID   uint64
	AgencyID uint64
	StaffID  uint64
}

func (c Caller) staff() bool { return c.UserID == 0 && c.AgencyID != 0 }

// Input is a shipment to create. Materials go to a hall (HallID) where
// the case's matter is handled, never to an address the sender makes up;
// a result goes to the applicant, by name.
type Input struct {
	CaseID    uint64
	Direction Direction
	Sender    Party
	Receiver  Party
	HallID    uint64
}

// Shipment is a shipment as shown: the row, and its parties masked.
type Shipment struct {
	*models.Shipment
	Sender, Receiver Party
}

// Event is a tracking event as shown.
type Event struct {
	*models.ShipmentEvent
	Description string
}

var (
	errNotFound     = models.Errorf(models.ECodeNotFound, "没有找到这个快件。")
	errCaseNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个办件。")
	errUnavailable  = models.Errorf(models.ECodeUnavailable, "快递服务暂时不可用，请稍后再试。")
)

// platform is the Carrier of the events the platform itself records.
const platform = "platform"

// Create opens a waybill with the carrier and records the shipment. An
// applicant mails materials for their own case while the agency expects
// them; staff mail the result of their agency's case once it has one.
// Another's case is NOT_FOUND.
//
// A case has at most one shipment under way in each direction: the same
// request again (a retry after a lost answer) returns that shipment, a
// different one is CONFLICT until the first is cancelled or has ended.
//
// The row is written only after the carrier has answered, so a carrier
// that fails (UNAVAILABLE) leaves nothing behind; the waybill's reference
// is derived from the request, so a retry after a timeout gets the waybill
// the carrier may have opened, not a second one.
func (s *Service) Create(ctx context.Context, by Caller, in Input) (*Shipment, error) {
	if by.UserID == 0 && by.AgencyID == 0 {
		return nil, models.Errorf(models.ECodeUnauthenticated, "请先登录。")
	}
	switch in.Direction {
	case MaterialsToHall:
		if by.staff() {
			return nil, models.Errorf(models.ECodeForbidden, "申请材料由申请人寄出。")
		}
	case ResultToUser:
		if !by.staff() {
			return nil, models.Errorf(models.ECodeForbidden, "办理结果由办理部门寄出。")
		}
	default:
		return nil, models.InvalidField("direction", "寄件方向只能是邮寄申请材料或邮寄办理结果。")
	}
	if err := in.Sender.check("sender", "寄件人"); err != nil {
		return nil, err
	}
	if in.Direction == MaterialsToHall && in.HallID == 0 {
		return nil, models.InvalidField("hallId", "请选择收件的服务大厅。")
	}
	if in.Direction == ResultToUser {
		if err := in.Receiver.check("receiver", "收件人"); err != nil {
			return nil, err
		}
	}
	c, err := s.caseFor(ctx, by, in.CaseID)
	if err != nil {
		return nil, err
	}
	if in.Direction == MaterialsToHall {
		if in.Receiver, err = s.hallReceiver(ctx, c, in.HallID); err != nil {
			return nil, err
		}
	} else if err := s.checkApplicant(ctx, c, in.Receiver.Name); err != nil {
		return nil, err
	}
	allowed, what := materialsExpected, "寄送申请材料"
	if in.Direction == ResultToUser {
		allowed, what = resultReady, "寄送办理结果"
	}
	if st := cases.Status(c.Status); !contains(allowed, st) {
		return nil, models.Errorf(models.ECodeConflict, "办件当前状态为“%s”，不能%s。", st.Label(), what)
	}

	hash := s.keys.BlindIndex("SHIPMENT_REQUEST", strings.Join([]string{
		strconv.FormatUint(c.ID, 10), string(in.Direction),
		in.Sender.Name, in.Sender.Phone, in.Sender.RegionCode, in.Sender.Address,
		in.Receiver.Name, in.Receiver.Phone, in.Receiver.RegionCode, in.Receiver.Address,
	}, "\x00"))
	key := activeKey(c.ID, in.Direction)
	if sh, err := s.active(ctx, key, hash); sh != nil || err != nil {
		return s.show(sh, err)
	}
	// The reference counts the case's earlier shipments in this
	// direction: after a cancellation the same request is a new waybill.
	var earlier int64
	if err := s.db.WithContext(ctx).Model(&models.Shipment{}).Where("case_id = ? AND direction = ?", c.ID, string(in.Direction)).Count(&earlier).Error; err != nil {
		return nil, err
	}
	ref := "GM" + s.keys.BlindIndex("SHIPMENT_REFERENCE", key+"/"+strconv.FormatInt(earlier, 10)+"/"+hash)[:30]

	cctx, cancel := context.WithTimeout(ctx, CarrierTimeout)
	waybill, err := s.cfg.Carrier.CreateWaybill(cctx, carrier.WaybillRequest{Reference: ref, Sender: in.Sender.wire(), Receiver: in.Receiver.wire()})
	cancel()
	if err != nil {
		return nil, s.carrierError("create waybill", err)
	}
	if !token(waybill, 64) {
		s.cfg.Logger.ErrorContext(ctx, "carrier returned a malformed waybill number", "carrier", s.cfg.CarrierName)
		return nil, errUnavailable
	}

	now := s.now().Truncate(time.Millisecond)
	row := &models.Shipment{CaseID: c.ID, UserID: c.UserID, AgencyID: c.AgencyID, Direction: string(in.Direction),
		ActiveKey: &key, RequestHash: hash, Carrier: s.cfg.CarrierName, WaybillNo: waybill, HallID: in.HallID,
		Status: string(Created), Stage: string(Created), StatusAt: now,
		SenderRegionCode: in.Sender.RegionCode, ReceiverRegionCode: in.Receiver.RegionCode,
		CreatedBy: ByApplicant, CreatedByID: by.UserID, CreatedAt: now, UpdatedAt: now}
	if by.staff() {
		row.CreatedBy, row.CreatedByID = ByStaff, by.StaffID
	}
	pctx := s.partyContext(row)
	snd, err := sealParty(s.keys, pctx+"sender", in.Sender)
	if err != nil {
		return nil, err
	}
	rcv, err := sealParty(s.keys, pctx+"receiver", in.Receiver)
	if err != nil {
		return nil, err
	}
	row.SenderNameEnc, row.SenderPhoneEnc, row.SenderAddressEnc = snd.name, snd.phone, snd.address
	row.ReceiverNameEnc, row.ReceiverPhoneEnc, row.ReceiverAddressEnc = rcv.name, rcv.phone, rcv.address
	createdID := "created:" + s.cfg.CarrierName + ":" + waybill
	desc, err := s.keys.SealString("已下单，等待快递员揽收。", eventContext(platform, createdID))
	if err != nil {
		return nil, err
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		return tx.Create(&models.ShipmentEvent{ShipmentID: row.ID, Carrier: platform, CarrierEventID: createdID,
			Status: string(Created), DescriptionEnc: desc, OccurredAt: now, ReceivedAt: now, Applied: true}).Error
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		// Another request for the same case and direction won the race.
		// The same request had the same reference, hence the same
		// waybill, which is kept; a different one's waybill is not
		// needed: cancel it.
		var kept int64
		if s.db.WithContext(ctx).Model(&models.Shipment{}).Where("carrier = ? AND waybill_no = ?", s.cfg.CarrierName, waybill).Count(&kept).Error == nil && kept == 0 {
			s.cancelOrphan(ctx, waybill)
		}
		sh, err := s.active(ctx, key, hash)
		if sh == nil && err == nil {
			err = models.Errorf(models.ECodeConflict, "该办件的寄件状态刚刚发生变化，请刷新后再试。")
		}
		return s.show(sh, err)
	}
	if err != nil {
		// The waybill is left open: the same request again has the same
		// reference, gets the same waybill and completes the shipment.
		return nil, err
	}
	s.notify(ctx, row)
	return s.show(row, nil)
}

// active returns the case's shipment under way in a direction (by its
// active key) when it was made by the same request (hash), CONFLICT when it
// was made by another, or nil.
func (s *Service) active(ctx context.Context, key, hash string) (*models.Shipment, error) {
	var sh models.Shipment
	err := s.db.WithContext(ctx).Where("active_key = ?", key).Take(&sh).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if sh.RequestHash != hash {
		return nil, models.Errorf(models.ECodeConflict, "该办件已有一件正在寄送的快件（运单号 %s），如需修改寄件信息，请先取消该快件。", sh.WaybillNo)
	}
	return &sh, nil
}

// cancelOrphan cancels, as well as it can, a waybill the platform does not
// keep; the carrier sweeps waybills never picked up in any case.
func (s *Service) cancelOrphan(ctx context.Context, waybill string) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CarrierTimeout)
	defer cancel()
	if err := s.cfg.Carrier.CancelWaybill(cctx, waybill); err != nil {
		s.cfg.Logger.WarnContext(ctx, "could not cancel an unused waybill", "carrier", s.cfg.CarrierName, "waybill", waybill, "err", err)
	}
}

// Cancel cancels a shipment not yet picked up: its creator's side only (the
// applicant for materials, the agency for results); the other side gets
// FORBIDDEN, anyone else NOT_FOUND. After pickup it is CONFLICT.
func (s *Service) Cancel(ctx context.Context, by Caller, shipmentID uint64) (*Shipment, error) {
	sh, err := s.load(ctx, by, shipmentID)
	if err != nil {
		return nil, err
	}
	if (sh.Direction == string(ResultToUser)) != by.staff() {
		return nil, models.Errorf(models.ECodeForbidden, "只有寄件方可以取消寄件。")
	}
	if sh.Status != string(Created) {
		return nil, models.Errorf(models.ECodeConflict, "快件当前状态为“%s”，不能取消。", Status(sh.Status).Label())
	}
	cctx, cancel := context.WithTimeout(ctx, CarrierTimeout)
	err = s.cfg.Carrier.CancelWaybill(cctx, sh.WaybillNo)
	cancel()
	var ce *carrier.Error
	if errors.As(err, &ce) && ce.Status == 409 {
		return nil, models.Errorf(models.ECodeConflict, "快递员已揽收，不能取消。")
	}
	if err != nil {
		return nil, s.carrierError("cancel waybill", err)
	}
	now := s.now().Truncate(time.Millisecond)
	cancelledID := "cancelled:" + s.cfg.CarrierName + ":" + sh.WaybillNo
	desc, err := s.keys.SealString("寄件已取消。", eventContext(platform, cancelledID))
	if err != nil {
		return nil, err
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.Shipment{}).Where("id = ? AND status = ?", sh.ID, string(Created)).
			Updates(map[string]any{"status": string(Cancelled), "status_at": now, "active_key": nil, "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "快件状态已变化，不能取消，请刷新后查看。")
		}
		return tx.Create(&models.ShipmentEvent{ShipmentID: sh.ID, Carrier: platform, CarrierEventID: cancelledID,
			Status: string(Cancelled), DescriptionEnc: desc, OccurredAt: now, ReceivedAt: now, Applied: true}).Error
	})
	if err != nil {
		return nil, err
	}
	sh.Status, sh.StatusAt, sh.ActiveKey, sh.UpdatedAt = string(Cancelled), now, nil, now
	s.notify(ctx, sh)
	return s.show(sh, nil)
}

// Get returns one shipment the caller may see: the applicant's own, or
// their agency's for staff.
func (s *Service) Get(ctx context.Context, by Caller, shipmentID uint64) (*Shipment, error) {
	return s.show(s.load(ctx, by, shipmentID))
}

// List is a page of the caller's shipments (an applicant's, or the
// agency's for staff), of one case when caseID is not 0, newest first,
// first at a time after the given shipment ID (0 for the first page), and
// their total. A case the caller may not see is NOT_FOUND, as it is for
// every other use of its ID, not an empty list.
func (s *Service) List(ctx context.Context, by Caller, caseID uint64, first int, afterID uint64) ([]*Shipment, int64, error) {
	if caseID != 0 && (by.UserID != 0 || by.AgencyID != 0) {
		if _, err := s.caseFor(ctx, by, caseID); err != nil {
			return nil, 0, err
		}
	}
	q := s.db.WithContext(ctx).Model(&models.Shipment{})
	switch {
	case by.UserID != 0:
		q = q.Where("user_id = ?", by.UserID)
	case by.AgencyID != 0:
		q = q.Where("agency_id = ?", by.AgencyID)
	default:
		return nil, 0, models.Errorf(models.ECodeUnauthenticated, "请先登录。")
	}
	if caseID != 0 {
		q = q.Where("case_id = ?", caseID)
	}
	rows, total, err := database.NewestFirst[models.Shipment](q, first, afterID)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Shipment, len(rows))
	for i, r := range rows {
		if out[i], err = s.show(r, nil); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// maxHistory bounds a tracking history.
const maxHistory = 200

// Track is a shipment's tracking history, newest first, for the applicant
// or the agency's staff; events that arrived late are in their place.
// Descriptions and locations are masked (long digit runs such as phones
// keep their first three and last two digits; a location that is not a
// carrier's facility is cut to the start of an address); the history
// keeps them as the carrier sent them.
func (s *Service) Track(ctx context.Context, by Caller, shipmentID uint64) ([]*Event, error) {
	sh, err := s.load(ctx, by, shipmentID)
	if err != nil {
		return nil, err
	}
	var rows []*models.ShipmentEvent
	if err := s.db.WithContext(ctx).Where("shipment_id = ?", sh.ID).Order("occurred_at DESC, id DESC").Limit(maxHistory).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]*Event, len(rows))
	for i, r := range rows {
		desc, err := s.keys.OpenString(r.DescriptionEnc, eventContext(r.Carrier, r.CarrierEventID))
		if err != nil {
			return nil, fmt.Errorf("logistics: open event %d: %w", r.ID, err)
		}
		// Masked on the way out: the row read here is never written back.
		desc, r.Location = maskEvent(desc, r.Location)
		out[i] = &Event{ShipmentEvent: r, Description: desc}
	}
	return out, nil
}

// load reads a shipment the caller may see.
func (s *Service) load(ctx context.Context, by Caller, id uint64) (*models.Shipment, error) {
	q := s.db.WithContext(ctx).Where("id = ?", id)
	switch {
	case by.UserID != 0:
		q = q.Where("user_id = ?", by.UserID)
	case by.AgencyID != 0:
		q = q.Where("agency_id = ?", by.AgencyID)
	default:
		return nil, errNotFound
	}
	var sh models.Shipment
	if err := q.Take(&sh).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	return &sh, nil
}

// caseFor loads a case the caller may mail for: the applicant's own, or
// a submitted case of the staff member's agency.
func (s *Service) caseFor(ctx context.Context, by Caller, caseID uint64) (*models.Case, error) {
	q := s.db.WithContext(ctx).Where("id = ?", caseID)
	if by.staff() {
		q = q.Where("agency_id = ? AND status <> ?", by.AgencyID, string(cases.Draft))
	} else {
		q = q.Where("user_id = ?", by.UserID)
	}
	var c models.Case
	if err := q.Take(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errCaseNotFound
	} else if err != nil {
		return nil, err
	}
	return &c, nil
}

// show opens and masks a shipment's parties.
func (s *Service) show(sh *models.Shipment, err error) (*Shipment, error) {
	if err != nil || sh == nil {
		return nil, err
	}
	pctx := s.partyContext(sh)
	snd, err := openParty(s.keys, pctx+"sender", sealed{sh.SenderNameEnc, sh.SenderPhoneEnc, sh.SenderAddressEnc}, sh.SenderRegionCode)
	if err != nil {
		return nil, fmt.Errorf("logistics: open shipment %d: %w", sh.ID, err)
	}
	rcv, err := openParty(s.keys, pctx+"receiver", sealed{sh.ReceiverNameEnc, sh.ReceiverPhoneEnc, sh.ReceiverAddressEnc}, sh.ReceiverRegionCode)
	if err != nil {
		return nil, fmt.Errorf("logistics: open shipment %d: %w", sh.ID, err)
	}
	return &Shipment{Shipment: sh, Sender: snd.masked(), Receiver: rcv.masked()}, nil
}

// partyContext binds a shipment's sealed parties to its carrier and
// waybill (unique, and known before the row is written): moved to another
// row, they no longer open.
func (s *Service) partyContext(sh *models.Shipment) string {
	return "shipment:" + sh.Carrier + ":" + sh.WaybillNo + ":"
}

func eventContext(carrierName, eventID string) string {
	return "shipment_event:" + carrierName + ":" + eventID + ":description"
}

func activeKey(caseID uint64, d Direction) string {
	return strconv.FormatUint(caseID, 10) + "/" + string(d)
}

// carrierError maps a carrier's failure: a request it refuses as invalid
// is the user's to fix; anything else is the carrier being unavailable.
func (s *Service) carrierError(op string, err error) error {
	var ce *carrier.Error
	if errors.As(err, &ce) && (ce.Status == 400 || ce.Status == 422) {
		s.cfg.Logger.Warn("carrier refused a request", "carrier", s.cfg.CarrierName, "op", op, "err", err)
		return models.Errorf(models.ECodeBadUserInput, "快递公司未接受寄件信息，请核对姓名、电话和地址。")
	}
	s.cfg.Logger.Error("carrier unavailable", "carrier", s.cfg.CarrierName, "op", op, "err", err)
	return errUnavailable
}

// notify calls OnStatus with a copy of the committed row.
func (s *Service) notify(ctx context.Context, sh *models.Shipment) {
	if s.cfg.OnStatus != nil {
		c := *sh
		s.cfg.OnStatus(ctx, &c)
	}
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// token reports whether s is 1 to max printable ASCII characters without
// spaces: what a waybill number or an event ID may be.
func token(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// hallReceiver is the receiver of materials: a hall where the case's
// matter is handled, or, for a matter linked to no hall, a hall of the
// agency's region.
func (s *Service) hallReceiver(ctx context.Context, c *models.Case, hallID uint64) (Party, error) {
	var h models.Hall
	if err := s.db.WithContext(ctx).Take(&h, hallID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return Party{}, models.InvalidField("hallId", "没有找到这个服务大厅。")
	} else if err != nil {
		return Party{}, err
	}
	var linked, here int64
	db := s.db.WithContext(ctx)
	if err := db.Model(&models.MatterHall{}).Where("matter_id = ?", c.MatterID).Count(&linked).Error; err != nil {
		return Party{}, err
	}
	if linked > 0 {
		if err := db.Model(&models.MatterHall{}).Where("matter_id = ? AND hall_id = ?", c.MatterID, h.ID).Count(&here).Error; err != nil {
			return Party{}, err
		}
	} else {
		var ag models.Agency
		if err := db.Take(&ag, c.AgencyID).Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			return Party{}, err
		}
		if len(ag.RegionCode) >= 4 && strings.HasPrefix(h.RegionCode, ag.RegionCode[:4]) {
			here = 1
		}
	}
	if here == 0 {
		return Party{}, models.InvalidField("hallId", "这个服务大厅不受理该事项，请选择办件所属事项的受理大厅。")
	}
	p := Party{Name: cutRunes(h.Name, 30), Phone: h.Phone, RegionCode: h.RegionCode, Address: cutRunes(h.Address, 120)}
	if err := p.check("receiver", "收件人"); err != nil {
		return Party{}, models.Errorf(models.ECodeConflict, "该服务大厅的收件信息不完整，暂不能邮寄，请联系办理部门。")
	}
	return p, nil
}

// checkApplicant refuses a result addressed to anyone but the applicant.
func (s *Service) checkApplicant(ctx context.Context, c *models.Case, name string) error {
	if s.cfg.ApplicantNames == nil {
		return nil
	}
	names, err := s.cfg.ApplicantNames(ctx, c.UserID)
	if err != nil {
		return err
	}
	for _, n := range names {
		if n != "" && strings.TrimSpace(n) == name {
			return nil
		}
	}
	return models.InvalidField("receiverName", "办理结果只能寄给申请人本人（或申请单位），收件人姓名须与申请人一致。")
}

func cutRunes(s string, n int) string {
	if r := []rune(strings.TrimSpace(s)); len(r) > n {
		return string(r[:n])
	}
	return strings.TrimSpace(s)
}
