package app_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"govmobile/models"
)

// TestSubscriptionsWithGraphQLWS (issue 9): the npm graphql-ws client
// subscribes to a citizen's live messages over the graphql-transport-ws
// protocol, with the ticket in connection_init, and receives the message
// the agency's step causes. .ci/run sets GOVMOBILE_E2E=1 after installing
// e2e/node_modules; without it the test is skipped.
func TestSubscriptionsWithGraphQLWS(t *testing.T) {
	if os.Getenv("GOVMOBILE_E2E") == "" {
		t.Skip("GOVMOBILE_E2E not set (.ci/run sets it after installing e2e/node_modules)")
	}
	b := allBackends(t)[0]
	var m models.Matter
	if err := b.app.DB.Scopes(onlineMatters).Order("id").Offset(17).First(&m).Error; err != nil {
		t.Fatal(err)
	}
	user := b.register(t, person(t)).Ticket
	var out struct {
		SubmitApplication struct{ Case struct{ ID string } }
	}
	b.gql(t, user, `mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { case { id } } }`,
		map[string]any{"in": map[string]any{"matterId": gid("Matter", m.ID), "values": completeForm}}).decode(t, &out)

	script, _ := filepath.Abs("../e2e/graphql-ws.mjs")
	cmd := exec.Command("node", script, "ws"+strings.TrimPrefix(b.srv.URL, "http")+"/graphql", user)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("the client did not connect: %q", lines.Text())
	}
	time.Sleep(500 * time.Millisecond) // the subscribe message follows the connection
	staff := b.staffTicket(t, m.AgencyID)
	b.gql(t, staff, `mutation($in: HandleCaseInput!) { handleCase(input: $in) { case { status } } }`,
		map[string]any{"in": map[string]any{"caseId": out.SubmitApplication.Case.ID, "action": "ACCEPT"}}).decode(t, &struct{}{})
	if !lines.Scan() {
		t.Fatal("no message reached the client")
	}
	var msg struct{ Title, Body string }
	if err := json.Unmarshal(lines.Bytes(), &msg); err != nil || !strings.Contains(msg.Title, "受理") {
		t.Fatalf("the message: %v %s", err, lines.Text())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the client: %v", err)
	}
}
