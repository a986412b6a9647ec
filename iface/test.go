package iface

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/models"
	"govmobile/outbound"
	"govmobile/sensitive"
)

// TestRequest is the request a connectivity test sent.
type TestRequest struct {
	Method string
	URL    string
	Body   string
	// Signed says the request carried the platform's signature (9.4.4 a).
	Signed bool
}

// TestResult is what a connectivity test saw (figure 4 of the standard):
// the request, the raw response, and the result envelope read from it.
type TestResult struct {
	Request      TestRequest
	Status       int
	Body         string // at most MaxShownBody bytes of it
	ElapsedMs    int
	ResultCode   string // 100, 102 or 103, "" when the response has none
	ErrorCode    string
	ErrorMsg     string
	Date         string
	Failure      string // why no response came, in words; "" when one did
	FlaggedWords []string
}

// standardParams are filled in when the interface declares them and the
// tester leaves them out (9.4.2): the region, the channel, a fresh
// business code.
func standardParam(name string) (string, bool) {
	switch name {
	case "region":
		return "100000", true
	case "pf":
		return "gov", true
	case "auth_code":
		return randomCode(), true
	}
	return "", false
}

// Test calls an interface with the given parameters and shows what went
// and what came back. Required parameters must be given (the standard
// ones are filled in). Words of the sensitive-word list in the request or
// the response flag the interface for its reviewer.
func (s *Service) Test(ctx context.Context, id uint64, params map[string]string) (*TestResult, error) {
	x, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	values := map[string]string{}
	for k, v := range params {
		if x.AuthKey != "" && k == x.AuthKeyParam {
			return nil, models.InvalidField("params", fmt.Sprintf("参数 %s 由平台填入保存的鉴权密钥，测试时不要填写。", k))
		}
		values[k] = v
	}
	for _, p := range x.RequestParams {
		if _, given := values[p.Name]; given {
			continue
		}
		if v, ok := standardParam(p.Name); ok {
			values[p.Name] = v
		} else if p.Required {
			return nil, models.InvalidField("params", fmt.Sprintf("请填写必填参数 %s。", p.Name))
		}
	}
	c, err := s.prepare(ctx, x, values)
	if err != nil {
		return nil, err
	}
	res := &TestResult{Request: c.shown}
	resp, err := s.out.Do(ctx, c.req)
	if err != nil {
		res.Failure = failure(err)
	} else {
		res.Status, res.ElapsedMs = resp.Status, int(resp.Elapsed.Milliseconds())
		res.Body = string(resp.Body)
		res.ResultCode, res.ErrorCode, res.ErrorMsg, res.Date = envelope(resp.Body)
		// A provider that echoes its input must not show its key.
		if c.key != "" {
			hide := func(t string) string { return strings.ReplaceAll(t, c.key, maskedKey) }
			res.Body, res.ErrorCode, res.ErrorMsg, res.Date = hide(res.Body), hide(res.ErrorCode), hide(res.ErrorMsg), hide(res.Date)
		}
	}
	m, err := s.Matcher(ctx)
	if err != nil {
		return nil, err
	}
	// The whole response is checked; only its first MaxShownBody bytes are
	// shown.
	res.FlaggedWords = m.Find(res.Request.URL+"\n"+res.Request.Body+"\n"+res.Body, 20)
	if len(res.Body) > MaxShownBody {
		res.Body = strings.ToValidUTF8(res.Body[:MaxShownBody], "")
	}
	if len(res.FlaggedWords) > 0 {
		words, _ := json.Marshal(res.FlaggedWords)
		cols := map[string]any{"flagged": true, "flagged_words": string(words)}
		// A hit on an approved interface sends it back to its reviewers.
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			q := tx.Model(&models.SourceInterface{}).Where("id = ? AND status = ?", x.ID, x.Status)
			if Status(x.Status) == Approved {
				cols["status"], cols["review_note"] = string(Pending), "连通性测试发现敏感词，需重新审核。"
				stopChecks(cols)
				if err := leftApproval(tx, x.ID); err != nil {
					return err
				}
			}
			return q.Updates(cols).Error
		})
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// failure says in words why an interface gave no response.
func failure(err error) string {
	switch {
	case errors.Is(err, outbound.ErrForbiddenAddress):
		return "接口地址不在允许访问的范围内。"
	case errors.Is(err, outbound.ErrTooLarge):
		return "接口返回的内容过大。"
	case errors.Is(err, outbound.ErrRedirect):
		return "接口重定向到了其他主机，或重定向次数过多。"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout") || strings.Contains(err.Error(), "timeout"):
		return "接口超时未响应。"
	}
	return "无法连接到接口地址。"
}

// envelope reads the standard's result envelope (9.4.2) from a JSON body:
// at the top level, or one level down (example 7 wraps it in
// process_response).
func envelope(body []byte) (code, errCode, errMsg, date string) {
	var top map[string]any
	if json.Unmarshal(body, &top) != nil {
		return
	}
	read := func(m map[string]any) bool {
		c, ok := m["result_code"]
		if !ok {
			return false
		}
		code, errCode, errMsg, date = str(c), str(m["error_code"]), str(m["error_msg"]), str(m["date"])
		return true
	}
	if read(top) {
		return
	}
	for _, v := range top {
		if m, ok := v.(map[string]any); ok && read(m) {
			return
		}
	}
	return
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// ResultMeaning is what a result_code says (9.4.2).
func ResultMeaning(code string) string {
	return map[string]string{"100": "处理成功", "102": "处理失败", "103": "处理中"}[code]
}

// Matcher is the sensitive-word list, compiled; rebuilt after a change.
func (s *Service) Matcher(ctx context.Context) (*sensitive.Matcher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.matcher != nil && time.Since(s.loadedAt) < wordsTTL {
		return s.matcher, nil
	}
	var words []string
	if err := s.db.WithContext(ctx).Model(&models.SensitiveWord{}).Order("id").Pluck("word", &words).Error; err != nil {
		return nil, err
	}
	s.matcher, s.loadedAt = sensitive.New(words), time.Now()
	return s.matcher, nil
}

// AddWords adds words to the list (those already there are passed over),
// and returns how many it added.
func (s *Service) AddWords(ctx context.Context, words []string) (int, error) {
	if len(words) > 1000 {
		return 0, models.InvalidField("words", "一次最多添加1000个词。")
	}
	added := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, w := range words {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			if n := len([]rune(w)); n > sensitive.MaxWordRunes {
				return models.InvalidField("words", fmt.Sprintf("每个词不能超过%d个字。", sensitive.MaxWordRunes))
			}
			res := tx.Where(models.SensitiveWord{Word: w}).FirstOrCreate(&models.SensitiveWord{Word: w, CreatedAt: now()})
			if res.Error != nil {
				return res.Error
			}
			added += int(res.RowsAffected)
		}
		return nil
	})
	s.invalidate()
	return added, err
}

// RemoveWord removes a word; NOT_FOUND when it is not on the list.
func (s *Service) RemoveWord(ctx context.Context, word string) error {
	res := s.db.WithContext(ctx).Where("word = ?", strings.TrimSpace(word)).Delete(&models.SensitiveWord{})
	if res.Error != nil {
		return res.Error
	}
	s.invalidate()
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeNotFound, "敏感词表中没有这个词。")
	}
	return nil
}

// Words lists the words, oldest first.
func (s *Service) Words(ctx context.Context) ([]string, error) {
	var words []string
	err := s.db.WithContext(ctx).Model(&models.SensitiveWord{}).Order("id").Pluck("word", &words).Error
	return words, err
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.matcher = nil
	s.mu.Unlock()
}
