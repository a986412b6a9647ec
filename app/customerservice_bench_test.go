package app_test

// BenchmarkAsk (issue 5, "Numbers": ask over 10,000 knowledge entries,
// median under 20 ms): 10,000 entries are added — every demo matter's name
// in twenty phrasings, across the provinces — and indexed through the
// search outbox; each iteration asks one of a set of citizens' questions
// over HTTP. p50 and p95 are reported.
//
//	go test -run '^$' -bench 'Ask$' -benchtime 2000x ./app/
//
// BenchmarkChatDelivery (issue 5: a chat message reaches the other side
// within 1 s): a citizen sends a line over HTTP; the agent's
// chatMessageReceived subscription (graphql-transport-ws) receives it.
//
//	go test -run '^$' -bench ChatDelivery -benchtime 300x ./app/

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"govmobile/models"
	"govmobile/search"
)

var askPhrasings = []string{"%s需要什么材料？", "%s怎么办理？", "%s多久能办好？", "%s在哪里办？", "%s能在网上办吗？",
	"%s要收费吗？", "%s可以委托别人办吗？", "%s需要本人到场吗？", "%s的办理流程是什么？", "%s有什么条件？",
	"外地户籍能在%s办吗", "%s办完后怎么领取结果", "%s进度怎么查", "%s被退回了怎么办", "%s的法律依据是什么",
	"%s可以加急吗", "%s周末能办吗", "%s需要预约吗", "%s的材料可以用复印件吗", "%s办错了能撤回吗"}

func BenchmarkAsk(b *testing.B) {
	be, _ := benchBackend(b)
	ctx := context.Background()
	var names []string
	if err := be.app.DB.Model(&models.Matter{}).Distinct("name").Pluck("name", &names).Error; err != nil {
		b.Fatal(err)
	}
	provinces := be.app.Catalogue.Regions().Children("")
	var rows []*models.KnowledgeEntry
	now := time.Now().UTC()
	for i := 0; len(rows) < 10_000; i++ {
		name := names[i%len(names)]
		phrase := askPhrasings[(i/len(names))%len(askPhrasings)]
		prov := provinces[(i/(len(names)*len(askPhrasings)))%len(provinces)].Name
		q := prov + fmt.Sprintf(phrase, name)
		rows = append(rows, &models.KnowledgeEntry{Code: fmt.Sprintf("BENCH-%05d", i), Question: q,
			Answer: "请参阅" + prov + name + "的办事指南，或到政务服务中心咨询。", Keywords: []string{name}, CreatedAt: now, UpdatedAt: now})
	}
	if err := be.app.DB.CreateInBatches(rows, 500).Error; err != nil {
		b.Fatal(err)
	}
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	for i := 0; i < len(ids); i += 500 {
		if err := search.Enqueue(be.app.DB, models.DocKnowledge, ids[i:min(i+500, len(ids))]...); err != nil {
			b.Fatal(err)
		}
	}
	for {
		n, err := be.app.Search.CatchUp(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	questions := []string{"我的社保卡丢了怎么办", "身份证快过期了怎么换", "小孩出生了怎么上户口", "公积金怎么提取",
		"结婚登记要带什么材料", "居住证在哪里办", "护照多久能办好", "营业执照可以网上办吗", "退休手续怎么办理", "今天天气怎么样"}
	q := `query($q: String!) { ask(question: $q) { answer confidence offerHuman sources { id question } } }`
	took := make([]time.Duration, 0, b.N)
	answered := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		r := be.gql(b, "", q, map[string]any{"q": questions[i%len(questions)]})
		took = append(took, time.Since(start))
		if len(r.Errors) > 0 {
			b.Fatal(string(r.Raw))
		}
		if !strings.Contains(string(r.Raw), `"answer":null`) {
			answered++
		}
	}
	b.StopTimer()
	reportLatency(b, took)
	b.ReportMetric(float64(answered)/float64(b.N), "answered")
}

func BenchmarkChatDelivery(b *testing.B) {
	be, _ := benchBackend(b)
	citizen := be.register(b, person(b)).Ticket
	agent := be.staffTicket(b, 1)
	var started struct {
		StartAgentChat struct{ Chat struct{ ID string } }
	}
	be.gql(b, citizen, `mutation { startAgentChat(input: {text: "我想咨询企业开办"}) { chat { id } } }`, nil).decode(b, &started)
	chatID := started.StartAgentChat.Chat.ID
	be.gql(b, agent, `mutation($c: ID!) { takeAgentChat(input: {chatId: $c}) { chat { id } } }`, map[string]any{"c": chatID}).decode(b, &struct{}{})
	ws, err := be.ws(b, agent)
	if err != nil {
		b.Fatal(err)
	}
	ws.send(map[string]any{"id": "c", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($c: ID!) { chatMessageReceived(chatId: $c) { text } }`, "variables": map[string]any{"c": chatID}}})
	send := `mutation($c: ID!, $t: String!) { sendChatMessage(input: {chatId: $c, text: $t}) { message { text } } }`
	live := ws.stream()
	live.warmUp(b, 20, func(i int) { be.gql(b, citizen, send, map[string]any{"c": chatID, "t": fmt.Sprintf("预热%d", i)}) })
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		line := fmt.Sprintf("第%d句", i)
		start := time.Now()
		if r := be.gql(b, citizen, send, map[string]any{"c": chatID, "t": line}); len(r.Errors) > 0 {
			b.Fatal(string(r.Raw))
		}
		if m, ok := live.wait(time.Second); !ok || !strings.Contains(fmt.Sprint(m["payload"]), line) {
			b.Fatalf("line %d not delivered within 1 s: %v", i, m)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	reportLatency(b, took)
}
