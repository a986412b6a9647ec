// Command readmix is the load client of bench/scaling.sh (issue 10): the
// read part of the citizen load mix of issue 9 (home page, navigation,
// search, a matter's guide, my cases), sent by CONNS concurrent citizens
// to one or more replicas in turn, as a load balancer without stickiness
// would. It runs as a process of its own, so that bench/scaling.sh can give
// it a CPU budget apart from the servers'.
//
//	go run ./bench/readmix -urls http://127.0.0.1:18080,http://127.0.0.1:18081 -conns 64 -duration 30s
//
// Before measuring it registers one citizen per connection and submits two
// applications for each (so that "my cases" has rows), then warms up. It
// prints one line of figures and exits 1 when any request failed. Only the
// given URLs are contacted; run it against 127.0.0.1.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"govmobile/validate"
)

func main() {
	urls := flag.String("urls", "http://127.0.0.1:18080", "the replicas, comma-separated; requests go to each in turn")
	conns := flag.Int("conns", 64, "concurrent citizens")
	duration := flag.Duration("duration", 30*time.Second, "measured time")
	warmup := flag.Duration("warmup", 5*time.Second, "unmeasured time before it")
	flag.Parse()
	bases := strings.Split(*urls, ",")
	if err := run(bases, *conns, *warmup, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "readmix:", err)
		os.Exit(1)
	}
}

type client struct {
	http  *http.Client
	bases []string
	next  atomic.Uint64
}

type answer struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message string `json:"message"`
	} `json:"errors"`
}

// gql sends a request to the next replica and decodes data into out (when
// not nil); any error, GraphQL errors included, is returned.
func (c *client) gql(ticket, query string, vars map[string]any, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	base := c.bases[c.next.Add(1)%uint64(len(c.bases))]
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if ticket != "" {
		req.Header.Set("Authorization", "Bearer "+ticket)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil || res.StatusCode != http.StatusOK || len(a.Errors) > 0 {
		return fmt.Errorf("%d %.200s", res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(a.Data, out)
	}
	return nil
}

var terms = []string{"营业执照", "社保卡", "公积金", "驾照", "上户口", "低保", "护照", "结婚登记", "杭州 公积金", "不动产"}

type op struct {
	name   string
	weight int
	run    func(c *client, rng *rand.Rand, ticket string) error
}

func ops(matters []string) []op {
	return []op{
		{"home", 25, func(c *client, _ *rand.Rand, ticket string) error {
			return c.gql(ticket, `query { navigation(dimension: THEME, regionCode: "330100") { key name count }
				matters(first: 20, filter: { regionCode: "330100" }) { totalCount edges { node { id name agency { name } } } } }`, nil, nil)
		}},
		{"navigation", 10, func(c *client, _ *rand.Rand, ticket string) error {
			return c.gql(ticket, `query { navigation(dimension: AGENCY, regionCode: "110000") { key name count } }`, nil, nil)
		}},
		{"search", 20, func(c *client, rng *rand.Rand, ticket string) error {
			return c.gql(ticket, `query($q: String!) { search(query: $q, first: 10) { totalCount edges { node { title } } } }`,
				map[string]any{"q": terms[rng.IntN(len(terms))]}, nil)
		}},
		{"matter", 20, func(c *client, rng *rand.Rand, ticket string) error {
			return c.gql(ticket, `query($id: ID!) { matter(id: $id) { id name guide { conditions materials { name } process { name } fees { name } } halls { name } } }`,
				map[string]any{"id": matters[rng.IntN(len(matters))]}, nil)
		}},
		{"myCases", 15, func(c *client, _ *rand.Rand, ticket string) error {
			return c.gql(ticket, `query { myCases(first: 20) { totalCount edges { node { id number status } } } }`, nil, nil)
		}},
	}
}

// citizen registers a new natural person (a valid, unique identity
// number) and returns their ticket.
func citizen(c *client, n int) (string, error) {
	stamp := time.Now().UnixNano()
	body := fmt.Sprintf("330106%s%03d", fmt.Sprintf("1986%02d%02d", 1+n%12, 1+n%28), (int(stamp/1000)+n)%1000)
	check, _ := validate.IDNumberCheckChar(body)
	var out struct{ Register struct{ Ticket string } }
	err := c.gql("", `mutation($in: RegisterInput!) { register(input: $in) { ticket } }`, map[string]any{"in": map[string]any{
		"username": fmt.Sprintf("load%d_%d", stamp%1_000_000_000, n), "password": "Passw0rd!2026", "userType": "NATURAL_PERSON",
		"realName": "李四", "idNumber": body + string(check), "phone": fmt.Sprintf("1391%07d", (stamp/1000+int64(n))%10_000_000),
		"privacyConsent": true}}, &out)
	return out.Register.Ticket, err
}

var form = []map[string]any{
	{"key": "reason", "values": []string{"首次申领"}},
	{"key": "contactPhone", "values": []string{"13900001111"}},
	{"key": "delivery", "values": []string{"窗口领取"}},
}

// cpuSeconds is the CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func run(bases []string, conns int, warmup, duration time.Duration) error {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	c := &client{http: &http.Client{Timeout: 30 * time.Second, Transport: tr}, bases: bases}

	var ms struct {
		Matters struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if err := c.gql("", `query { matters(first: 100, filter: { onlineOnly: true }) { edges { node { id } } } }`, nil, &ms); err != nil {
		return fmt.Errorf("matters: %w", err)
	}
	if len(ms.Matters.Edges) == 0 {
		return fmt.Errorf("no matter takes online applications")
	}
	matters := make([]string, len(ms.Matters.Edges))
	for i, e := range ms.Matters.Edges {
		matters[i] = e.Node.ID
	}
	tickets := make([]string, conns)
	for i := range tickets {
		var err error
		if tickets[i], err = citizen(c, i); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		for k := range 2 {
			if err := c.gql(tickets[i], `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
				map[string]any{"in": map[string]any{"matterId": matters[(i+k)%len(matters)], "values": form}}, nil); err != nil {
				return fmt.Errorf("submit: %w", err)
			}
		}
	}
	mix := ops(matters)
	total := 0
	for _, o := range mix {
		total += o.weight
	}

	var (
		measuring, stop atomic.Bool
		mu              sync.Mutex
		durs            []time.Duration
		failures        int
		firstFailure    string
		wg              sync.WaitGroup
	)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 10))
			var mine []time.Duration
			bad, why := 0, ""
			for !stop.Load() {
				pick := rng.IntN(total)
				i := 0
				for ; pick >= mix[i].weight; i++ {
					pick -= mix[i].weight
				}
				t0 := time.Now()
				err := mix[i].run(c, rng, tickets[w])
				if !measuring.Load() {
					continue
				}
				mine = append(mine, time.Since(t0))
				if err != nil {
					bad++
					why = mix[i].name + ": " + err.Error()
				}
			}
			mu.Lock()
			durs = append(durs, mine...)
			failures += bad
			if why != "" && firstFailure == "" {
				firstFailure = why
			}
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start, cpu0 := time.Now(), cpuSeconds()
	time.Sleep(duration)
	measuring.Store(false)
	elapsed, cpuUsed := time.Since(start), cpuSeconds()-cpu0
	stop.Store(true)
	wg.Wait()

	slices.Sort(durs)
	pct := func(p float64) float64 {
		if len(durs) == 0 {
			return 0
		}
		return float64(durs[min(len(durs)-1, int(float64(len(durs))*p))].Microseconds()) / 1000
	}
	fmt.Printf("replicas %d  clients %d  requests %d in %.1f s  %.0f/s  errors %d  p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  client CPU %.2f cores\n",
		len(bases), conns, len(durs), elapsed.Seconds(), float64(len(durs))/elapsed.Seconds(), failures, pct(.50), pct(.95), pct(.99),
		cpuUsed/elapsed.Seconds())
	if failures > 0 {
		return fmt.Errorf("%d of %d requests failed, e.g. %s", failures, len(durs), firstFailure)
	}
	return nil
}
