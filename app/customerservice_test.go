package app_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"govmobile/models"
)

type answerOut struct {
	Answer     *string
	Confidence float64
	OfferHuman bool
	Sources    []struct{ ID, Question string }
}

func (b *backend) ask(t *testing.T, question string) (answerOut, *gqlResponse) {
	t.Helper()
	r := b.gql(t, "", `query($q: String!) { ask(question: $q) { answer confidence offerHuman sources { id question } } }`, map[string]any{"q": question})
	var out struct{ Ask answerOut }
	if len(r.Errors) == 0 {
		r.decode(t, &out)
	}
	return out.Ask, r
}

func TestAskKnowledgeBase(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		for q, want := range map[string]string{
			"我的社保卡丢了怎么办":    "社保卡丢了怎么办？",
			"小孩出生怎么上户口":     "宝宝出生了，多久之内要上户口？",
			"公积金怎么提取":       "",
			"第一次办护照要准备哪些材料": "第一次办护照要准备什么？多久能拿到？",
			"结婚证在哪领":        "领结婚证要带什么？能在外地领吗？",
		} {
			a, r := b.ask(t, q)
			if len(r.Errors) > 0 || a.Answer == nil || a.OfferHuman || a.Confidence < 0.6 || len(a.Sources) == 0 {
				t.Errorf("%s: %s", q, r.Raw)
				continue
			}
			if want != "" && a.Sources[0].Question != want {
				t.Errorf("%s: answered from %q, want %q", q, a.Sources[0].Question, want)
			}
		}
		// Nothing in the knowledge base: a human is offered.
		for _, q := range []string{"今天天气怎么样", "怎么交个人所得税", "？？？"} {
			if a, r := b.ask(t, q); len(r.Errors) > 0 || a.Answer != nil || !a.OfferHuman || a.Confidence >= 0.6 {
				t.Errorf("%s: %s", q, r.Raw)
			}
		}
		for _, q := range []string{"", "   ", strings.Repeat("问", 201)} {
			_, r := b.ask(t, q)
			expectCode(t, r, models.ECodeBadUserInput)
		}

		// An administrator's new entry answers at once (through the index's
		// outbox); a deleted one no longer does.
		admin := b.adminTicket(t)
		create := `mutation($in: KnowledgeEntryInput!) { createKnowledgeEntry(input: $in) { entry { id question keywords } } }`
		in := map[string]any{"question": "无人机需要实名登记吗？", "answer": "最大起飞重量250克以上的无人机须在民航局平台实名登记。", "keywords": []string{"无人机登记", "无人机实名", "无人机登记"}}
		expectCode(t, b.gql(t, b.register(t, person(t)).Ticket, create, map[string]any{"in": in}), models.ECodeUnauthenticated)
		var made struct {
			CreateKnowledgeEntry struct {
				Entry struct {
					ID       string
					Keywords []string
				}
			}
		}
		b.gql(t, admin, create, map[string]any{"in": in}).decode(t, &made)
		if len(made.CreateKnowledgeEntry.Entry.Keywords) != 2 {
			t.Fatalf("created: %+v", made)
		}
		waitFor(t, func() bool { a, _ := b.ask(t, "我的无人机要登记吗"); return a.Answer != nil })
		for _, bad := range []map[string]any{
			{"question": " ", "answer": "答"},
			{"question": "问", "answer": strings.Repeat("答", 5001)},
			{"question": "问", "answer": "答", "matterCode": "NO-SUCH-MATTER"},
			{"question": "问", "answer": "答", "keywords": []string{strings.Repeat("词", 31)}},
		} {
			expectCode(t, b.gql(t, admin, create, map[string]any{"in": bad}), models.ECodeBadUserInput)
		}
		del := `mutation($in: DeleteKnowledgeEntryInput!) { deleteKnowledgeEntry(input: $in) { deletedId } }`
		b.gql(t, admin, del, map[string]any{"in": map[string]any{"id": made.CreateKnowledgeEntry.Entry.ID}}).decode(t, &struct{}{})
		waitFor(t, func() bool { a, _ := b.ask(t, "我的无人机要登记吗"); return a.Answer == nil })
		expectCode(t, b.gql(t, admin, del, map[string]any{"in": map[string]any{"id": made.CreateKnowledgeEntry.Entry.ID}}), models.ECodeNotFound)
	})
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentChat(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		lee := b.register(t, person(t)).Ticket
		start := `mutation($in: StartAgentChatInput!) { startAgentChat(input: $in) { chat { id status topic messages { sender text } } } }`
		var started struct {
			StartAgentChat struct {
				Chat struct {
					ID, Status, Topic string
					Messages          []struct{ Sender, Text string }
				}
			}
		}
		b.gql(t, lee, start, map[string]any{"in": map[string]any{"text": "我的营业执照地址变更要多久？"}}).decode(t, &started)
		chat := started.StartAgentChat.Chat
		if chat.Status != "WAITING" || len(chat.Messages) != 2 || chat.Messages[0].Sender != "CITIZEN" {
			t.Fatalf("started: %+v", chat)
		}
		expectCode(t, b.gql(t, lee, start, map[string]any{"in": map[string]any{"text": "再开一个"}}), models.ECodeConflict)
		expectCode(t, b.gql(t, "", start, map[string]any{"in": map[string]any{"text": "匿名"}}), models.ECodeUnauthenticated)

		// The citizen follows the chat live; an agent sees it in the queue,
		// takes it (one of two at once), and follows it too.
		citizenWS, err := b.ws(t, lee)
		if err != nil {
			t.Fatal(err)
		}
		sub := map[string]any{"id": "c", "type": "subscribe", "payload": map[string]any{
			"query": `subscription($c: ID!) { chatMessageReceived(chatId: $c) { sender text } }`, "variables": map[string]any{"c": chat.ID}}}
		citizenWS.send(sub)
		agent, other := b.adminTicket(t), b.staffTicket(t, 1)
		var queue struct {
			AgentChatQueue []struct {
				ID, Status, Topic string
				Messages          []struct{ Text string }
			}
		}
		b.gql(t, agent, `{ agentChatQueue { id status topic messages { text } } }`, nil).decode(t, &queue)
		if n := len(queue.AgentChatQueue); n == 0 || queue.AgentChatQueue[n-1].ID != chat.ID || queue.AgentChatQueue[n-1].Topic == "" ||
			len(queue.AgentChatQueue[n-1].Messages) != 0 {
			t.Fatalf("queue (the topic, not the transcript, before taking): %+v", queue)
		}
		send := `mutation($in: SendChatMessageInput!) { sendChatMessage(input: $in) { message { sender text } } }`
		expectCode(t, b.gql(t, agent, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "您好"}}), models.ECodeNotFound)
		// An agent cannot follow a chat before taking it.
		if w, err := b.ws(t, other); err == nil {
			w.send(sub)
			if got, err := w.read(time.Second); err != nil || !strings.Contains(mustJSON(got), models.ECodeNotFound) {
				t.Fatalf("an agent follows a waiting chat: %v %v", got, err)
			}
		}
		take := `mutation($in: AgentChatInput!) { takeAgentChat(input: $in) { chat { status } } }`
		time.Sleep(100 * time.Millisecond) // the subscription is registered
		b.gql(t, agent, take, map[string]any{"in": map[string]any{"chatId": chat.ID}}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, other, take, map[string]any{"in": map[string]any{"chatId": chat.ID}}), models.ECodeConflict)
		if got, err := citizenWS.read(time.Second); err != nil || !strings.Contains(mustJSON(got), "客服已接入") {
			t.Fatalf("the citizen is not told the agent joined: %v %v", got, err)
		}
		agentWS, err := b.ws(t, agent)
		if err != nil {
			t.Fatalf("an agent's socket: %v", err)
		}
		agentWS.send(sub)
		// Another agent cannot follow or write into a chat taken by someone else.
		expectCode(t, b.gql(t, other, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "插话"}}), models.ECodeNotFound)
		time.Sleep(100 * time.Millisecond)

		sent := time.Now()
		b.gql(t, lee, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "地址从西湖区迁到滨江区"}}).decode(t, &struct{}{})
		if got, err := agentWS.read(time.Second); err != nil || !strings.Contains(mustJSON(got), "滨江区") {
			t.Fatalf("the agent does not receive the citizen's line within 1 s: %v %v", got, err)
		}
		t.Logf("citizen → agent in %v", time.Since(sent).Round(time.Millisecond))
		citizenWS.read(time.Second) // the citizen's own line
		b.gql(t, agent, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "跨区迁址一般3个工作日办结。"}}).decode(t, &struct{}{})
		if got, err := citizenWS.read(time.Second); err != nil || !strings.Contains(mustJSON(got), "3个工作日") {
			t.Fatalf("the citizen does not receive the agent's line: %v %v", got, err)
		}
		for _, bad := range []string{"", strings.Repeat("长", 1001)} {
			expectCode(t, b.gql(t, lee, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": bad}}), models.ECodeBadUserInput)
		}
		expectCode(t, b.gql(t, b.register(t, person(t)).Ticket, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "你好"}}), models.ECodeNotFound)

		// The agent ends the chat; no more lines; the transcript stays.
		end := `mutation($in: AgentChatInput!) { endAgentChat(input: $in) { chat { status } } }`
		b.gql(t, agent, end, map[string]any{"in": map[string]any{"chatId": chat.ID}}).decode(t, &struct{}{})
		expectCode(t, b.gql(t, lee, send, map[string]any{"in": map[string]any{"chatId": chat.ID, "text": "还在吗"}}), models.ECodeConflict)
		expectCode(t, b.gql(t, lee, end, map[string]any{"in": map[string]any{"chatId": chat.ID}}), models.ECodeConflict)
		var mine struct {
			MyAgentChats struct {
				Edges []struct {
					Node struct {
						Status   string
						Messages []struct{ Sender string }
					}
				}
			}
		}
		b.gql(t, lee, `{ myAgentChats { edges { node { status messages { sender } } } } }`, nil).decode(t, &mine)
		if e := mine.MyAgentChats.Edges; len(e) != 1 || e[0].Node.Status != "CLOSED" || len(e[0].Node.Messages) != 6 {
			t.Fatalf("transcript: %+v", mine)
		}
		// An ended chat cannot be followed.
		if w, err := b.ws(t, lee); err == nil {
			w.send(sub)
			if got, err := w.read(time.Second); err != nil || !strings.Contains(mustJSON(got), models.ECodeConflict) {
				t.Fatalf("following an ended chat: %v %v", got, err)
			}
		}
		// A new chat may start now.
		b.gql(t, lee, start, map[string]any{"in": map[string]any{"text": "还有一个问题"}}).decode(t, &started)
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
