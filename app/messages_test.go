package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"govmobile/messages"
	"govmobile/models"
)

// wsClient speaks graphql-transport-ws to the test server.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func (b *backend) ws(t testing.TB, ticket string) (*wsClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(b.srv.URL, "http") + "/graphql"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &wsClient{t: t, conn: conn}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + ticket}})
	msg, err := c.read(5 * time.Second)
	if err != nil {
		return nil, err
	}
	if msg["type"] != "connection_ack" {
		return nil, &wsRefused{msg}
	}
	return c, nil
}

type wsRefused struct{ msg map[string]any }

func (e *wsRefused) Error() string { b, _ := json.Marshal(e.msg); return "refused: " + string(b) }

func (c *wsClient) send(v any) {
	b, _ := json.Marshal(v)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.t.Fatalf("ws write: %v", err)
	}
}

func (c *wsClient) read(timeout time.Duration) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		if m["type"] == "ping" {
			c.send(map[string]any{"type": "pong"})
			continue
		}
		return m, nil
	}
}

func TestMessagesAndLiveNotifications(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id DESC").Offset(1).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		erin := b.register(t, person(t)).Ticket
		var out struct{ SubmitApplication struct{ Case caseOut } }
		b.gql(t, erin, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
			map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)
		caseID := out.SubmitApplication.Case.ID

		// A bad ticket is refused at connection init.
		if _, err := b.ws(t, "not-a-ticket"); err == nil {
			t.Fatal("a websocket with a bad ticket was accepted")
		}

		live, err := b.ws(t, erin)
		if err != nil {
			t.Fatal(err)
		}
		live.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { messageReceived { id title body targetId read } }`}})
		time.Sleep(100 * time.Millisecond) // the subscription is registered

		staff := b.staffTicket(t, m.AgencyID)
		start := time.Now()
		r := b.gql(t, staff, `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
			map[string]any{"in": map[string]any{"caseId": caseID, "action": "ACCEPT"}})
		if len(r.Errors) > 0 {
			t.Fatal(string(r.Raw))
		}
		got, err := live.read(time.Second)
		if err != nil {
			t.Fatalf("no live message within 1 s of the status change: %v", err)
		}
		t.Logf("delivered after %v", time.Since(start).Round(time.Millisecond))
		payload, _ := json.Marshal(got["payload"])
		if got["type"] != "next" || !strings.Contains(string(payload), caseID) || !strings.Contains(string(payload), "已受理") {
			t.Fatalf("live message: %v", got)
		}

		// Once Erin logs out, the socket she opened with that ticket
		// receives nothing more.
		defer func() {
			b.gql(t, erin, `mutation { logout }`, nil)
			b.gql(t, staff, `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
				map[string]any{"in": map[string]any{"caseId": caseID, "action": "PROCESS"}})
			if got, err := live.read(500 * time.Millisecond); err == nil && got["type"] == "next" {
				t.Errorf("a message reached a socket whose ticket was revoked: %v", got)
			}
		}()

		// The message centre holds it; only Erin sees it.
		var msgs struct {
			MyMessages struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Title, TargetID string
						Read                bool
					}
				}
			}
			UnreadMessageCount int
		}
		b.gql(t, erin, `{ myMessages(first: 10) { totalCount edges { node { id title targetId read } } } unreadMessageCount }`, nil).decode(t, &msgs)
		if msgs.MyMessages.TotalCount != 1 || msgs.UnreadMessageCount != 1 || msgs.MyMessages.Edges[0].Node.TargetID != caseID {
			t.Fatalf("message centre: %+v", msgs)
		}
		msgID := msgs.MyMessages.Edges[0].Node.ID
		other := b.register(t, person(t)).Ticket
		var mark struct {
			MarkMessagesRead struct{ Marked, UnreadCount int }
		}
		// Another user naming Erin's message is refused outright.
		expectCode(t, b.gql(t, other, `mutation($in: MarkMessagesReadInput!) { markMessagesRead(input: $in) { marked unreadCount } }`,
			map[string]any{"in": map[string]any{"messageIds": []string{msgID}}}), models.ECodeNotFound)
		var node struct{ Node *struct{ ID string } }
		b.gql(t, other, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": msgID}).decode(t, &node)
		if node.Node != nil {
			t.Fatal("another user reads Erin's message through node()")
		}
		b.gql(t, erin, `mutation($in: MarkMessagesReadInput!) { markMessagesRead(input: $in) { marked unreadCount } }`,
			map[string]any{"in": map[string]any{}}).decode(t, &mark)
		if mark.MarkMessagesRead.Marked != 1 || mark.MarkMessagesRead.UnreadCount != 0 {
			t.Fatalf("mark all read: %+v", mark)
		}

		// Subscriptions: a matter, her own case; not someone else's case.
		subscribe := `mutation($in: SubscribeInput!) { subscribe(input: $in) { subscription { id target targetId } } }`
		var sub struct {
			Subscribe struct {
				Subscription struct{ ID, Target, TargetID string }
			}
		}
		b.gql(t, erin, subscribe, map[string]any{"in": map[string]any{"targetId": gid("Matter", m.ID)}}).decode(t, &sub)
		if sub.Subscribe.Subscription.Target != "MATTER" {
			t.Fatalf("subscribe to a matter: %+v", sub)
		}
		first := sub.Subscribe.Subscription.ID
		b.gql(t, erin, subscribe, map[string]any{"in": map[string]any{"targetId": gid("Matter", m.ID)}}).decode(t, &sub)
		if sub.Subscribe.Subscription.ID != first {
			t.Fatal("subscribing twice made two subscriptions")
		}
		b.gql(t, erin, subscribe, map[string]any{"in": map[string]any{"targetId": caseID}}).decode(t, &sub)
		expectCode(t, b.gql(t, other, subscribe, map[string]any{"in": map[string]any{"targetId": caseID}}), models.ECodeNotFound)
		expectCode(t, b.gql(t, erin, subscribe, map[string]any{"in": map[string]any{"targetId": gid("Hall", 1)}}), models.ECodeBadUserInput)
		var subs struct{ MySubscriptions []struct{ ID string } }
		b.gql(t, erin, `{ mySubscriptions { id } }`, nil).decode(t, &subs)
		if len(subs.MySubscriptions) != 2 {
			t.Fatalf("my subscriptions: %+v", subs)
		}
		unsubscribe := `mutation($in: UnsubscribeInput!) { unsubscribe(input: $in) { removed } }`
		expectCode(t, b.gql(t, other, unsubscribe, map[string]any{"in": map[string]any{"subscriptionId": first}}), models.ECodeNotFound)
		var un struct{ Unsubscribe struct{ Removed bool } }
		b.gql(t, erin, unsubscribe, map[string]any{"in": map[string]any{"subscriptionId": first}}).decode(t, &un)
		if !un.Unsubscribe.Removed {
			t.Fatal("unsubscribe")
		}
	})
}

// A change to a matter's guide reaches everyone following the matter.
func TestMatterGuideChangeNotifies(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		var m models.Matter
		if err := b.app.DB.Scopes(onlineMatters).Order("id DESC").Offset(3).First(&m).Error; err != nil {
			t.Fatal(err)
		}
		var g models.MatterGuide
		if err := b.app.DB.First(&g, m.ID).Error; err != nil {
			t.Fatal(err)
		}
		hal := b.register(t, person(t)).Ticket
		b.gql(t, hal, `mutation($in: SubscribeInput!) { subscribe(input: $in) { subscription { id } } }`,
			map[string]any{"in": map[string]any{"targetId": gid("Matter", m.ID)}}).decode(t, &struct{}{})
		live, err := b.ws(t, hal)
		if err != nil {
			t.Fatal(err)
		}
		live.send(map[string]any{"id": "g", "type": "subscribe", "payload": map[string]any{"query": `subscription { messageReceived { title targetId } }`}})
		time.Sleep(100 * time.Millisecond)

		changed := g.Guide
		changed.Conditions = append(append([]string{}, changed.Conditions...), "新增条件：须提供近期免冠照片")
		if err := b.app.Catalogue.UpdateGuide(context.Background(), m.ID, changed); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.app.Catalogue.UpdateGuide(context.Background(), m.ID, g.Guide) })
		got, err := live.read(time.Second)
		if err != nil {
			t.Fatalf("no live message within 1 s of the guide change: %v", err)
		}
		payload, _ := json.Marshal(got["payload"])
		if !strings.Contains(string(payload), gid("Matter", m.ID)) {
			t.Fatalf("live message: %v", got)
		}
		if err := b.app.Catalogue.UpdateGuide(context.Background(), 1<<40, changed); models.ErrorCode(err) != models.ECodeNotFound {
			t.Fatalf("unknown matter: %v", err)
		}

		// Follows are bounded per user; following one again still answers.
		user := userOf(t, b, hal)
		rows := make([]models.Subscription, 0, messages.MaxSubscriptions)
		for i := len(rows) + 1; i < messages.MaxSubscriptions; i++ {
			rows = append(rows, models.Subscription{UserID: user, Target: models.TargetCase, TargetID: uint64(1<<40 + i), CreatedAt: time.Now().UTC()})
		}
		if err := b.app.DB.CreateInBatches(rows, 200).Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := b.app.Messages.Subscribe(ctx, user, models.TargetMatter, m.ID); err != nil {
			t.Fatalf("following a followed matter at the limit: %v", err)
		}
		if _, err := b.app.Messages.Subscribe(ctx, user, models.TargetMatter, m.ID+1); models.ErrorCode(err) != models.ECodeConflict {
			t.Fatalf("one follow too many: %v", err)
		}
	})
}
