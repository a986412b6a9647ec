package logistics_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"govmobile/cases"
	"govmobile/logistics"
	"govmobile/mask"
	"govmobile/models"
)

// TestMaterialsGoToAHallOfTheMatter: materials are mailed to a hall where
// the case's matter is handled, addressed from the hall's record; a
// receiver given by the applicant is not used.
func TestMaterialsGoToAHallOfTheMatter(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		owner := logistics.Caller{UserID: user}
		c := e.newCase(user, randomID(), cases.Submitted)

		// A hall of another matter.
		elsewhere := e.newHall("海淀区政务服务中心", "010-82510000", "110108", "海淀路300号一层收件窗口")
		e.link(e.newMatter(), elsewhere.ID)
		in := e.materials(c.ID)
		in.HallID = elsewhere.ID
		if _, err := e.svc.Create(ctx, owner, in); fieldOf(err) != "hallId" {
			t.Errorf("a hall not handling the matter: %v; want BAD_USER_INPUT hallId", err)
		}
		in.HallID = 0
		if _, err := e.svc.Create(ctx, owner, in); fieldOf(err) != "hallId" {
			t.Errorf("no hall: %v; want BAD_USER_INPUT hallId", err)
		}

		// Halls of the matter whose record cannot address a parcel.
		for name, h := range map[string]*models.Hall{
			"no phone":        e.newHall("朝阳区第二服务大厅", "", "110105", "朝阳路300号一层"),
			"unusable phone":  e.newHall("朝阳区第三服务大厅", "见大厅公告", "110105", "朝阳路400号一层"),
			"no address":      e.newHall("朝阳区第四服务大厅", "010-65090001", "110105", "朝阳路"),
			"no region":       e.newHall("朝阳区第五服务大厅", "010-65090002", "", "朝阳路500号一层"),
			"unusable region": e.newHall("朝阳区第六服务大厅", "010-65090003", "1101", "朝阳路600号一层"),
		} {
			e.link(e.matterID, h.ID)
			in := e.materials(c.ID)
			in.HallID = h.ID
			if _, err := e.svc.Create(ctx, owner, in); code(err) != models.ECodeConflict {
				t.Errorf("%s: %v; want CONFLICT", name, err)
			}
		}
		if n := e.count(&models.Shipment{}, "case_id = ?", c.ID); n != 0 {
			t.Fatalf("%d shipments written by refused requests", n)
		}

		// A second hall of the matter is as good as the first; what the
		// applicant says of the receiver is not used.
		second := e.newHall("朝阳区政务服务分中心", "010-65091111", "110105", "朝阳北路8号二层邮寄窗口")
		e.link(e.matterID, second.ID)
		in = e.materials(c.ID)
		in.HallID = second.ID
		in.Receiver = logistics.Party{Name: "李四", Phone: "13700001111", RegionCode: "310101", Address: "南京东路1号1001室"}
		sh, err := e.svc.Create(ctx, owner, in)
		if err != nil {
			t.Fatal(err)
		}
		want := logistics.Party{Name: mask.Name(second.Name), Phone: mask.Phone(second.Phone), RegionCode: "110105", Address: logistics.MaskAddress(second.Address)}
		if sh.Receiver != want || sh.ReceiverRegionCode != "110105" {
			t.Errorf("receiver %+v; want the hall %+v", sh.Receiver, want)
		}
	})
}

// TestMaterialsToAHallOfTheAgencysRegion: a matter linked to no hall takes
// a hall whose region shares the agency's region's first four digits (its
// city).
func TestMaterialsToAHallOfTheAgencysRegion(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user := randomID()
		owner := logistics.Caller{UserID: user}
		agency := e.newAgency("110105")
		unlinked := e.newMatter()
		c := e.newCaseOf(unlinked, user, agency, cases.Submitted)

		sameCity := e.newHall("北京市海淀区政务服务中心", "010-82510000", "110108", "海淀路300号一层收件窗口")
		otherCity := e.newHall("天津市和平区政务服务中心", "022-27110000", "120101", "和平路100号一层收件窗口")
		in := e.materials(c.ID)
		in.HallID = otherCity.ID
		if _, err := e.svc.Create(ctx, owner, in); fieldOf(err) != "hallId" {
			t.Errorf("a hall of another city: %v; want BAD_USER_INPUT hallId", err)
		}
		in.HallID = sameCity.ID
		sh, err := e.svc.Create(ctx, owner, in)
		if err != nil {
			t.Fatalf("a hall of the agency's city: %v", err)
		}
		if sh.ReceiverRegionCode != "110108" || sh.Receiver.Phone != mask.Phone(sameCity.Phone) {
			t.Errorf("receiver %+v", sh.Receiver)
		}

		// Once the matter is linked to halls, only those count.
		e.link(unlinked, e.newHall("北京市朝阳区政务服务中心", "010-65090000", "110105", "朝阳路200号一层").ID)
		c2 := e.newCaseOf(unlinked, user, agency, cases.Submitted)
		in = e.materials(c2.ID)
		in.HallID = sameCity.ID
		if _, err := e.svc.Create(ctx, owner, in); fieldOf(err) != "hallId" {
			t.Errorf("an unlinked hall of a linked matter: %v; want BAD_USER_INPUT hallId", err)
		}

		// An agency without a record has no region: no hall is its.
		c3 := e.newCaseOf(e.newMatter(), user, randomID(), cases.Submitted)
		in = e.materials(c3.ID)
		in.HallID = sameCity.ID
		if _, err := e.svc.Create(ctx, owner, in); fieldOf(err) != "hallId" {
			t.Errorf("an agency without a record: %v; want BAD_USER_INPUT hallId", err)
		}
	})
}

// TestResultOnlyToTheApplicant: a result is addressed to one of the names
// ApplicantNames gives for the case's applicant.
func TestResultOnlyToTheApplicant(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		user, company, agency := randomID(), randomID(), randomID()
		staff := logistics.Caller{AgencyID: agency, StaffID: 9}
		c := e.newCase(user, agency, cases.Completed)

		in := result(c.ID)
		in.Receiver.Name = "李四"
		if _, err := e.svc.Create(ctx, staff, in); fieldOf(err) != "receiverName" {
			t.Errorf("to someone else: %v; want BAD_USER_INPUT receiverName", err)
		}
		if n := e.count(&models.Shipment{}, "case_id = ?", c.ID); n != 0 {
			t.Fatalf("%d shipments written", n)
		}
		if sh, err := e.svc.Create(ctx, staff, result(c.ID)); err != nil || sh.Receiver.Name != mask.Name(senderName) {
			t.Errorf("to the applicant: %v", err)
		}

		// A company's result may go to the company or its contact.
		e.mu.Lock()
		e.applicants[company] = []string{"", "王五", "北京某某科技有限公司"}
		e.mu.Unlock()
		cc := e.newCase(company, agency, cases.Rejected)
		in = result(cc.ID)
		in.Receiver.Name = senderName
		if _, err := e.svc.Create(ctx, staff, in); fieldOf(err) != "receiverName" {
			t.Errorf("a company's result to another name: %v", err)
		}
		in.Receiver.Name = "北京某某科技有限公司"
		if _, err := e.svc.Create(ctx, staff, in); err != nil {
			t.Errorf("to the company: %v", err)
		}

		// A failing lookup refuses the request, as the platform's error.
		failing := e.service(e.client, func(cfg *logistics.Config) {
			cfg.ApplicantNames = func(context.Context, uint64) ([]string, error) { return nil, errors.New("identity store down") }
		})
		c2 := e.newCase(user, agency, cases.Completed)
		if _, err := failing.Create(ctx, staff, result(c2.ID)); err == nil || code(err) == models.ECodeBadUserInput {
			t.Errorf("lookup failing: %v", err)
		}
		// Without the hook any receiver is taken.
		open := e.service(e.client, func(cfg *logistics.Config) { cfg.ApplicantNames = nil })
		in = result(c2.ID)
		in.Receiver.Name = "李四"
		if _, err := open.Create(ctx, staff, in); err != nil {
			t.Errorf("no ApplicantNames: %v", err)
		}
	})
}

// fieldOf is the field of a BAD_USER_INPUT error, "" for anything else.
func fieldOf(err error) string {
	var me *models.Error
	if !errors.As(err, &me) || me.Code != models.ECodeBadUserInput || !strings.HasSuffix(me.Message, "。") {
		return ""
	}
	return me.Field
}
