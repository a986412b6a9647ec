package app_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"govmobile/app"
)

// TestLightAppInBrowser drives the demo light app in headless Chromium
// (e2e/lightapp.mjs, playwright-core): the JSSDK's callbacks as examples
// 2–6 give them, and the masked name the app's server received. .ci/run
// installs Chromium and the npm packages and sets GOVMOBILE_E2E=1; without
// it the test is skipped.
func TestLightAppInBrowser(t *testing.T) {
	if os.Getenv("GOVMOBILE_E2E") == "" {
		t.Skip("GOVMOBILE_E2E not set (.ci/run sets it after installing Chromium and e2e/node_modules)")
	}
	b, err := newApp("sqlite", func(c *app.Config) { c.Dev = true })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.srv.Close(); b.app.Close(); os.RemoveAll(b.dir) }()
	p := person(t)
	b.register(t, p)
	script, _ := filepath.Abs("../e2e/lightapp.mjs")
	cmd := exec.Command("node", script, b.srv.URL, p["username"].(string), p["password"].(string))
	cmd.Stderr = os.Stderr
	done := make(chan struct{})
	var raw []byte
	go func() { raw, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatal("the browser test did not finish in 2 minutes")
	}
	if err != nil {
		t.Fatalf("node: %v\n%s", err, raw)
	}
	type shown struct{ Kind, Text string }
	var out struct {
		LoggedOut, Login, User, Again, Revoked, Logout, AfterLogout shown
		ConsentPrompt, PromptAgain, Error                           string
		Revoke                                                      struct {
			Data struct{ RevokeAppAuthorization bool }
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Error != "" {
		t.Fatalf("browser: %v %s", err, raw)
	}
	check := func(name string, s shown, kind, text string) {
		if s.Kind != kind || !strings.Contains(s.Text, text) {
			t.Errorf("%s: %+v, want %s containing %q", name, s, kind, text)
		}
	}
	check("logged out", out.LoggedOut, "fail", "未登录")
	check("login", out.Login, "login", "登录成功")
	check("exchange", out.User, "user", "张**")
	if strings.Contains(out.User.Text, "张三") || strings.Contains(out.User.Text, p["idNumber"].(string)) {
		t.Errorf("the page showed clear personal data: %s", out.User.Text)
	}
	if !strings.Contains(out.ConsentPrompt, "姓名") || !strings.Contains(out.ConsentPrompt, "身份证号码") {
		t.Errorf("consent prompt: %q", out.ConsentPrompt)
	}
	check("already logged in", out.Again, "login", "当前全国一体化政务服务平台移动端已登录")
	if !out.Revoke.Data.RevokeAppAuthorization || out.PromptAgain != out.ConsentPrompt {
		t.Errorf("revocation %+v; asked again: %q", out.Revoke, out.PromptAgain)
	}
	check("revoked", out.Revoked, "fail", "未授权")
	check("logout", out.Logout, "logout", "已退出登录")
	check("after logout", out.AfterLogout, "fail", "未登录")
}
