package app_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"govmobile/appointment"
	"govmobile/models"
)

var cst = time.FixedZone("CST", 8*3600)

// bookableDay is the n-th working day after today (n from 1), by the
// halls' clock.
func bookableDay(n int) time.Time {
	now := time.Now().In(cst)
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			n--
		}
	}
	return d
}

// hallOf returns a matter and a hall that handles it; the k-th link, so
// that tests booking at once do not share slots.
func hallOf(t *testing.T, b *backend, k int) (matterID, hallID uint64) {
	t.Helper()
	var links []models.MatterHall
	if err := b.app.DB.Order("matter_id, hall_id").Limit(k + 1).Find(&links).Error; err != nil || len(links) <= k {
		t.Fatalf("matter-hall links: %v (%d)", err, len(links))
	}
	return links[k].MatterID, links[k].HallID
}

const slotsQuery = `query($m: ID!, $h: ID!, $d: String!) { appointmentSlots(matterId: $m, hallId: $h, date: $d) { id startsAt endsAt capacity placesLeft hall { id name } } }`

type slotOut struct {
	ID         string `json:"id"`
	StartsAt   string `json:"startsAt"`
	EndsAt     string `json:"endsAt"`
	Capacity   int    `json:"capacity"`
	PlacesLeft int    `json:"placesLeft"`
}

func (b *backend) slots(t *testing.T, matterID, hallID uint64, day string) []slotOut {
	t.Helper()
	var out struct{ AppointmentSlots []slotOut }
	b.gql(t, "", slotsQuery, map[string]any{"m": gid("Matter", matterID), "h": gid("Hall", hallID), "d": day}).decode(t, &out)
	return out.AppointmentSlots
}

const apptFields = `id number status startsAt endsAt createdAt matter { id name } hall { id name }`

type apptOut struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Status string `json:"status"`
	Matter struct{ ID, Name string }
	Hall   struct{ ID, Name string }
}

func (b *backend) book(t *testing.T, ticket, slotID, key string) (*apptOut, *gqlResponse) {
	t.Helper()
	in := map[string]any{"slotId": slotID}
	if key != "" {
		in["idempotencyKey"] = key
	}
	r := b.gql(t, ticket, `mutation($in: BookAppointmentInput!) { bookAppointment(input: $in) { appointment { `+apptFields+` } } }`, map[string]any{"in": in})
	if len(r.Errors) > 0 {
		return nil, r
	}
	var out struct{ BookAppointment struct{ Appointment apptOut } }
	r.decode(t, &out)
	return &out.BookAppointment.Appointment, r
}

var bookingNumber = regexp.MustCompile(`^YY\d{8}\d{8}$`)

func TestAppointmentBookRescheduleCancel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		matterID, hallID := hallOf(t, b, 0)
		day := bookableDay(1).Format(appointment.DateLayout)
		slots := b.slots(t, matterID, hallID, day)
		if len(slots) != 6 {
			t.Fatalf("want 6 slots on %s, got %d", day, len(slots))
		}
		for _, s := range slots {
			if s.Capacity != 10 || s.PlacesLeft != 10 {
				t.Fatalf("fresh slot: %+v", s)
			}
		}
		alice := b.register(t, person(t)).Ticket

		a, r := b.book(t, alice, slots[0].ID, "alice-book-1")
		if a == nil {
			t.Fatalf("book: %s", r.Raw)
		}
		if !bookingNumber.MatchString(a.Number) || a.Status != "BOOKED" || a.Matter.ID != gid("Matter", matterID) || a.Hall.ID != gid("Hall", hallID) {
			t.Fatalf("booking: %+v", a)
		}
		if left := b.slots(t, matterID, hallID, day)[0].PlacesLeft; left != 9 {
			t.Fatalf("places left after one booking: %d", left)
		}

		// The response was lost; the app sends the same mutation again.
		again, r := b.book(t, alice, slots[0].ID, "alice-book-1")
		if again == nil || again.ID != a.ID || again.Number != a.Number {
			t.Fatalf("replay with the same key: %+v %s", again, r.Raw)
		}
		if left := b.slots(t, matterID, hallID, day)[0].PlacesLeft; left != 9 {
			t.Fatalf("a replay took another place: %d left", left)
		}

		// One booking of a matter per day.
		_, r = b.book(t, alice, slots[1].ID, "")
		expectCode(t, r, models.ECodeConflict)

		// Reschedule to the next hour: the old place comes back.
		var moved struct{ RescheduleAppointment struct{ Appointment apptOut } }
		b.gql(t, alice, `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { appointment { `+apptFields+` } } }`,
			map[string]any{"in": map[string]any{"appointmentId": a.ID, "slotId": slots[1].ID}}).decode(t, &moved)
		m := moved.RescheduleAppointment.Appointment
		if m.Status != "BOOKED" || m.ID == a.ID || !bookingNumber.MatchString(m.Number) {
			t.Fatalf("rescheduled: %+v", m)
		}
		after := b.slots(t, matterID, hallID, day)
		if after[0].PlacesLeft != 10 || after[1].PlacesLeft != 9 {
			t.Fatalf("places after rescheduling: %d, %d", after[0].PlacesLeft, after[1].PlacesLeft)
		}

		// Another citizen sees nothing of Alice's booking.
		bob := b.register(t, person(t)).Ticket
		r = b.gql(t, bob, `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { appointment { id } } }`,
			map[string]any{"in": map[string]any{"appointmentId": m.ID}})
		expectCode(t, r, models.ECodeNotFound)
		var node struct{ Node *struct{ ID string } }
		b.gql(t, bob, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": m.ID}).decode(t, &node)
		if node.Node != nil {
			t.Fatal("another user's booking is visible through node()")
		}
		b.gql(t, alice, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": m.ID}).decode(t, &node)
		if node.Node == nil || node.Node.ID != m.ID {
			t.Fatal("the owner cannot fetch her booking through node()")
		}

		var mine struct {
			MyAppointments struct {
				TotalCount int
				Edges      []struct{ Node apptOut }
			}
		}
		b.gql(t, alice, `{ myAppointments(first: 10) { totalCount edges { node { `+apptFields+` } } } }`, nil).decode(t, &mine)
		if mine.MyAppointments.TotalCount != 2 || len(mine.MyAppointments.Edges) != 2 ||
			mine.MyAppointments.Edges[0].Node.ID != m.ID || mine.MyAppointments.Edges[1].Node.Status != "CANCELLED" {
			t.Fatalf("my appointments: %+v", mine.MyAppointments)
		}
		b.gql(t, bob, `{ myAppointments { totalCount } }`, nil).decode(t, &mine)
		if mine.MyAppointments.TotalCount != 0 {
			t.Fatalf("bob sees %d bookings", mine.MyAppointments.TotalCount)
		}

		var cancelled struct{ CancelAppointment struct{ Appointment apptOut } }
		b.gql(t, alice, `mutation($in: CancelAppointmentInput!) { cancelAppointment(input: $in) { appointment { `+apptFields+` } } }`,
			map[string]any{"in": map[string]any{"appointmentId": m.ID}}).decode(t, &cancelled)
		if cancelled.CancelAppointment.Appointment.Status != "CANCELLED" {
			t.Fatalf("cancel: %+v", cancelled)
		}
		if left := b.slots(t, matterID, hallID, day)[1].PlacesLeft; left != 10 {
			t.Fatalf("places after cancelling: %d", left)
		}
		// Cancelled, the day is free again.
		if again, r := b.book(t, alice, slots[2].ID, ""); again == nil {
			t.Fatalf("book again after cancelling: %s", r.Raw)
		}

		r = b.gql(t, "", `{ myAppointments { totalCount } }`, nil)
		expectCode(t, r, models.ECodeUnauthenticated)
		_, r = b.book(t, "", slots[3].ID, "")
		expectCode(t, r, models.ECodeUnauthenticated)
	})
}

func TestAppointmentBadInput(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		matterID, hallID := hallOf(t, b, 1)
		alice := b.register(t, person(t)).Ticket

		r := b.gql(t, "", slotsQuery, map[string]any{"m": gid("Matter", matterID), "h": gid("Hall", hallID), "d": "2026/12/01"})
		expectCode(t, r, models.ECodeBadUserInput)
		r = b.gql(t, "", slotsQuery, map[string]any{"m": "not-an-id", "h": gid("Hall", hallID), "d": bookableDay(1).Format(appointment.DateLayout)})
		expectCode(t, r, models.ECodeBadUserInput)
		// Today, a weekend and beyond the calendar have no slots.
		now := time.Now().In(cst)
		sat := now
		for sat.Weekday() != time.Saturday {
			sat = sat.AddDate(0, 0, 1)
		}
		for _, d := range []time.Time{now, sat, now.AddDate(0, 0, 40)} {
			if got := b.slots(t, matterID, hallID, d.Format(appointment.DateLayout)); len(got) != 0 {
				t.Fatalf("%s has %d slots", d.Format(appointment.DateLayout), len(got))
			}
		}
		// A hall that does not handle the matter has none.
		var other models.Hall
		if err := b.app.DB.Where("id NOT IN (?)", b.app.DB.Model(&models.MatterHall{}).Select("hall_id").Where("matter_id = ?", matterID)).First(&other).Error; err == nil {
			if got := b.slots(t, matterID, other.ID, bookableDay(1).Format(appointment.DateLayout)); len(got) != 0 {
				t.Fatalf("a hall that does not handle the matter has %d slots", len(got))
			}
		}

		_, r = b.book(t, alice, gid("AppointmentSlot", 1<<40), "")
		expectCode(t, r, models.ECodeNotFound)
		_, r = b.book(t, alice, gid("Matter", matterID), "")
		expectCode(t, r, models.ECodeBadUserInput)

		// A slot that has begun, and a full one.
		past := models.AppointmentSlot{MatterID: matterID, HallID: hallID, StartsAt: time.Now().Add(-time.Hour).UTC(), EndsAt: time.Now().UTC(), Capacity: 5}
		full := models.AppointmentSlot{MatterID: matterID, HallID: hallID, StartsAt: bookableDay(5).Add(7 * time.Hour).UTC(), EndsAt: bookableDay(5).Add(8 * time.Hour).UTC(), Capacity: 1, Booked: 1}
		for _, s := range []*models.AppointmentSlot{&past, &full} {
			if err := b.app.DB.Create(s).Error; err != nil {
				t.Fatal(err)
			}
		}
		before := countRows(t, b, &models.Appointment{})
		_, r = b.book(t, alice, gid("AppointmentSlot", past.ID), "")
		expectCode(t, r, models.ECodeBadUserInput)
		_, r = b.book(t, alice, gid("AppointmentSlot", full.ID), "")
		expectCode(t, r, models.ECodeConflict)
		_, r = b.book(t, alice, gid("AppointmentSlot", full.ID), string(make([]byte, 65)))
		expectCode(t, r, models.ECodeBadUserInput)
		if n := countRows(t, b, &models.Appointment{}); n != before {
			t.Fatalf("refused bookings wrote %d rows", n-before)
		}

		// Rescheduling into a full slot leaves the booking as it was; a
		// slot of another matter is refused.
		day := bookableDay(2).Format(appointment.DateLayout)
		slots := b.slots(t, matterID, hallID, day)
		a, r := b.book(t, alice, slots[0].ID, "")
		if a == nil {
			t.Fatalf("book: %s", r.Raw)
		}
		resched := `mutation($in: RescheduleAppointmentInput!) { rescheduleAppointment(input: $in) { appointment { id } } }`
		r = b.gql(t, alice, resched, map[string]any{"in": map[string]any{"appointmentId": a.ID, "slotId": gid("AppointmentSlot", full.ID)}})
		expectCode(t, r, models.ECodeConflict)
		if got, err := b.app.Appointments.Get(ctx, userOf(t, b, alice), mustKey(t, a.ID)); err != nil || got.Status != models.AppointmentBooked {
			t.Fatalf("the booking after a refused reschedule: %+v %v", got, err)
		}
		if left := b.slots(t, matterID, hallID, day)[0].PlacesLeft; left != 9 {
			t.Fatalf("a refused reschedule gave the place back: %d left", left)
		}
		om, oh := hallOf(t, b, 2)
		if om != matterID {
			otherSlots := b.slots(t, om, oh, day)
			r = b.gql(t, alice, resched, map[string]any{"in": map[string]any{"appointmentId": a.ID, "slotId": otherSlots[0].ID}})
			expectCode(t, r, models.ECodeBadUserInput)
		}
		// A key used for a booking cannot be used to reschedule.
		if a2, r := b.book(t, alice, b.slots(t, om, oh, bookableDay(3).Format(appointment.DateLayout))[0].ID, "alice-key"); a2 == nil {
			t.Fatalf("book: %s", r.Raw)
		}
		r = b.gql(t, alice, resched, map[string]any{"in": map[string]any{"appointmentId": a.ID, "slotId": slots[1].ID, "idempotencyKey": "alice-key"}})
		expectCode(t, r, models.ECodeBadUserInput)
	})
}

// Capacity is held by the database: 200 citizens booking a 10-place slot at
// once get exactly 10 bookings.
func TestAppointmentCapacityUnderConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		matterID, hallID := hallOf(t, b, 3)
		day := bookableDay(4)
		slot := models.AppointmentSlot{MatterID: matterID, HallID: hallID, StartsAt: day.Add(8 * time.Hour).UTC(), EndsAt: day.Add(9 * time.Hour).UTC(), Capacity: 10}
		if err := b.app.DB.Create(&slot).Error; err != nil {
			t.Fatal(err)
		}
		const bookers = 200
		base := uint64(time.Now().UnixNano()%1_000_000) * 1000
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := 0; i < bookers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.app.Appointments.Book(ctx, base+uint64(i)+1, slot.ID, fmt.Sprintf("k%d", i))
				code := "OK"
				if err != nil {
					var e *models.Error
					if errors.As(err, &e) {
						code = e.Code
					} else {
						code = err.Error()
					}
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes["OK"] != 10 || codes[models.ECodeConflict] != bookers-10 {
			t.Fatalf("outcomes of %d bookers for 10 places: %v", bookers, codes)
		}
		var got models.AppointmentSlot
		b.app.DB.First(&got, slot.ID)
		var n int64
		b.app.DB.Model(&models.Appointment{}).Where("slot_id = ? AND status = ?", slot.ID, models.AppointmentBooked).Count(&n)
		if got.Booked != 10 || n != 10 {
			t.Fatalf("slot says %d booked, %d bookings stored", got.Booked, n)
		}
	})
}

// gid makes a global ID as the server does.
func gid(kind string, id uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatUint(id, 10)))
}

// mustKey is the numeric key of a global ID.
func mustKey(t testing.TB, id string) uint64 {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	_, key, _ := strings.Cut(string(raw), ":")
	n, err := strconv.ParseUint(key, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// userOf is the user a ticket belongs to.
func userOf(t testing.TB, b *backend, ticket string) uint64 {
	t.Helper()
	var out struct{ Me struct{ ID string } }
	b.gql(t, ticket, `{ me { id } }`, nil).decode(t, &out)
	return mustKey(t, out.Me.ID)
}

// Two requests cancelling or moving one booking at the same moment (a
// double tap) give its place back once, and leave one live booking.
func TestAppointmentRacesOnOneBooking(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		svc := b.app.Appointments
		matterID, hallID := hallOf(t, b, 4)
		day := bookableDay(3)
		slots := make([]models.AppointmentSlot, 3)
		for i, hour := range []int{7, 18, 19} { // outside the opening windows
			start := day.Add(time.Duration(hour) * time.Hour)
			slots[i] = models.AppointmentSlot{MatterID: matterID, HallID: hallID, StartsAt: start.UTC(), EndsAt: start.Add(time.Hour).UTC(), Capacity: 10}
			if err := b.app.DB.Create(&slots[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		base := uint64(time.Now().UnixNano()%1_000_000)*1000 + 500_000_000
		var victim *models.Appointment
		for u := uint64(1); u <= 6; u++ {
			a, err := svc.Book(ctx, base+u, slots[0].ID, "")
			if err != nil {
				t.Fatal(err)
			}
			victim = a
		}
		race := func(n int, f func(i int) error) map[string]int {
			var wg sync.WaitGroup
			var mu sync.Mutex
			out := map[string]int{}
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					code := "OK"
					if err := f(i); err != nil {
						code = models.ErrorCode(err)
					}
					mu.Lock()
					out[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			return out
		}
		booked := func(id uint64) int {
			var s models.AppointmentSlot
			b.app.DB.First(&s, id)
			return s.Booked
		}

		if codes := race(10, func(int) error { _, err := svc.Cancel(ctx, victim.UserID, victim.ID); return err }); codes["OK"] != 10 {
			t.Fatalf("ten cancels of one booking: %v", codes)
		}
		if n := booked(slots[0].ID); n != 5 {
			t.Fatalf("after ten cancels of one of 6 bookings the slot says %d booked", n)
		}

		// Two moves of one booking to two other slots: one wins.
		a, err := svc.Book(ctx, base+100, slots[0].ID, "")
		if err != nil {
			t.Fatal(err)
		}
		codes := race(2, func(i int) error { _, err := svc.Reschedule(ctx, a.UserID, a.ID, slots[1+i].ID, ""); return err })
		// The loser finds the booking gone: CONFLICT when they overlapped,
		// BAD_USER_INPUT (cancelled) when the database ran them in turn.
		if codes["OK"] != 1 || codes[models.ECodeConflict]+codes[models.ECodeBadUserInput] != 1 {
			t.Fatalf("two moves of one booking: %v", codes)
		}
		var live int64
		b.app.DB.Model(&models.Appointment{}).Where("user_id = ? AND status = ?", a.UserID, models.AppointmentBooked).Count(&live)
		if live != 1 || booked(slots[0].ID) != 5 || booked(slots[1].ID)+booked(slots[2].ID) != 1 {
			t.Fatalf("after two moves: %d live bookings, places %d/%d/%d", live, booked(slots[0].ID), booked(slots[1].ID), booked(slots[2].ID))
		}
	})
}

// Keys are compared exactly, per user and request.
func TestAppointmentIdempotencyKeys(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		svc := b.app.Appointments
		m1, h1 := hallOf(t, b, 5)
		m2, h2 := hallOf(t, b, 8)
		day := bookableDay(2).Format(appointment.DateLayout)
		s1, s2 := b.slots(t, m1, h1, day), b.slots(t, m2, h2, day)
		if m1 == m2 {
			t.Skip("demo links changed: need two matters")
		}
		user := uint64(time.Now().UnixNano()%1_000_000) + 800_000_000
		a, err := svc.Book(ctx, user, mustKey(t, s1[0].ID), "Key-aB")
		if err != nil {
			t.Fatal(err)
		}
		// Another key that differs only in case is another key.
		a2, err := svc.Book(ctx, user, mustKey(t, s2[0].ID), "key-Ab")
		if err != nil || a2.ID == a.ID {
			t.Fatalf("a key differing in case returned %+v, %v", a2, err)
		}
		// The same key with another request is refused, not answered.
		if _, err := svc.Book(ctx, user, mustKey(t, s2[1].ID), "Key-aB"); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("same key, other slot: %v", err)
		}
		// Another user's identical key is theirs.
		if a3, err := svc.Book(ctx, user+1, mustKey(t, s1[0].ID), "Key-aB"); err != nil || a3.ID == a.ID || a3.UserID != user+1 {
			t.Fatalf("another user's key: %+v %v", a3, err)
		}
		// A booking that has begun cannot be moved.
		past := models.AppointmentSlot{MatterID: m1, HallID: h1, StartsAt: time.Now().Add(-2 * time.Hour).UTC(), EndsAt: time.Now().Add(-time.Hour).UTC(), Capacity: 3, Booked: 1}
		if err := b.app.DB.Create(&past).Error; err != nil {
			t.Fatal(err)
		}
		old := models.Appointment{Number: fmt.Sprintf("T%d", past.ID), UserID: user + 2, MatterID: m1, HallID: h1, SlotID: past.ID,
			StartsAt: past.StartsAt, EndsAt: past.EndsAt, Status: models.AppointmentBooked, CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if err := b.app.DB.Create(&old).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Reschedule(ctx, user+2, old.ID, mustKey(t, s1[1].ID), ""); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Fatalf("moving a booking that has begun: %v", err)
		}
	})
}
