package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"govmobile/models"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

type requestIDKey struct{}

// RequestID returns the request's ID ("-" outside a request).
func RequestID(ctx context.Context) string {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		return id
	}
	return "-"
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe gives every request an ID (a sane X-Request-ID from a gateway is
// kept), logs it, counts it, and turns a panic into a 500 without detail.
func Observe(log *slog.Logger, route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(ctx, "panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, models.ECodeInternal, "服务器内部错误，请稍后再试。如需帮助，请提供请求编号 "+id+"。")
				}
			}
			httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
			log.LogAttrs(ctx, slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int("bytes", sw.bytes),
				slog.Float64("ms", float64(time.Since(start).Microseconds())/1000))
		}()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// writeError answers with a GraphQL-shaped error body outside the executor.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": code}}},
	})
}

// Limits bound what a GraphQL request may cost before it reaches gqlgen: the
// body size, a well-formed JSON body, and a deadline for the whole request.
type Limits struct {
	MaxBodyBytes int64
	Timeout      time.Duration
}

// MaxQueryBytes bounds the query text itself (parsed documents are cached,
// so a huge query, comments included, would otherwise stay in memory).
const MaxQueryBytes = 32 << 10

// Guard enforces Limits and the shape of a GraphQL request before gqlgen sees
// it, so every malformed request gets a Chinese message and BAD_USER_INPUT:
// the method, the Content-Type, the body size, well-formed JSON with a string
// query, no batches, no mutation over GET, and a deadline for the whole request.
func Guard(l Limits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("Upgrade") != "" {
			// A subscription's websocket lives as long as the client keeps
			// it: no request deadline. gqlgen checks the handshake and the
			// ticket in connection_init.
			if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || r.Header.Get("Sec-WebSocket-Key") == "" || r.Header.Get("Sec-WebSocket-Version") == "" {
				writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "WebSocket 握手不完整：订阅请使用 graphql-transport-ws 协议连接。")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), l.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		switch r.Method {
		case http.MethodPost:
		case http.MethodGet:
			if code, msg := checkGET(r); msg != "" {
				writeError(w, code, models.ECodeBadUserInput, msg)
				return
			}
			next.ServeHTTP(w, r)
			return
		case http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			writeError(w, http.StatusMethodNotAllowed, models.ECodeBadUserInput, "GraphQL 接口只接受 GET 和 POST 请求。")
			return
		}
		if !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, models.ECodeBadUserInput, "请求的 Content-Type 应为 application/json。")
			return
		}
		if r.ContentLength > l.MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, models.ECodeBadUserInput, tooLarge(l.MaxBodyBytes))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				writeError(w, http.StatusRequestEntityTooLarge, models.ECodeBadUserInput, tooLarge(l.MaxBodyBytes))
				return
			}
			writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请求体读取失败，请重试。")
			return
		}
		if msg := checkBody(body); msg != "" {
			writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, msg)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		next.ServeHTTP(w, r)
	})
}

// requestShape is a GraphQL-over-HTTP request body. Fields are raw so that
// their JSON types can be checked.
type requestShape struct {
	Query         json.RawMessage `json:"query"`
	OperationName json.RawMessage `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    json.RawMessage `json:"extensions"`
}

// checkBody returns a Chinese sentence for a malformed body, "" when it is fine.
func checkBody(body []byte) string {
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 || !json.Valid(body):
		return "请求体不是合法的 JSON。"
	case body[0] == '[':
		return "不支持批量请求，请逐个发送查询。"
	case body[0] != '{':
		return "请求体应为 JSON 对象，包含 query 字段。"
	}
	var req requestShape
	if err := json.Unmarshal(body, &req); err != nil {
		return "请求体应为 JSON 对象，包含 query 字段。"
	}
	kind := func(raw json.RawMessage) byte {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			return 0
		}
		return raw[0]
	}
	switch k := kind(req.Query); {
	case k == 0 && kind(req.Extensions) == 0:
		return "请求缺少 query 字段。"
	case k != 0 && k != '"':
		return "query 字段应为字符串。"
	case len(req.Query) > MaxQueryBytes:
		return "查询语句过长，不能超过 " + strconv.Itoa(MaxQueryBytes/1024) + " KB。"
	}
	if k := kind(req.OperationName); k != 0 && k != '"' {
		return "operationName 字段应为字符串。"
	}
	if k := kind(req.Variables); k != 0 && k != '{' {
		return "variables 字段应为 JSON 对象。"
	}
	if k := kind(req.Extensions); k != 0 && k != '{' {
		return "extensions 字段应为 JSON 对象。"
	}
	return ""
}

// checkGET refuses over-long queries and anything but a query operation over
// GET (a GET must never change state).
func checkGET(r *http.Request) (int, string) {
	params := r.URL.Query()
	q := params.Get("query")
	if len(q) > MaxQueryBytes {
		return http.StatusRequestURITooLong, "查询语句过长，不能超过 " + strconv.Itoa(MaxQueryBytes/1024) + " KB。"
	}
	for _, name := range []string{"variables", "extensions"} {
		if v := params.Get(name); v != "" {
			var obj map[string]any
			if json.Unmarshal([]byte(v), &obj) != nil {
				return http.StatusBadRequest, name + " 参数应为 JSON 对象。"
			}
		}
	}
	if q == "" {
		return 0, ""
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		return 0, "" // gqlgen reports the syntax error itself
	}
	name := r.URL.Query().Get("operationName")
	for _, op := range doc.Operations {
		if (name == "" || op.Name == name) && op.Operation != ast.Query {
			return http.StatusMethodNotAllowed, "GET 请求只能执行查询（query），变更请使用 POST。"
		}
	}
	return 0, ""
}

type bodyKey struct{}

func requestBody(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

func tooLarge(limit int64) string {
	return "请求体过大，不能超过 " + strconv.FormatInt(limit/1024, 10) + " KB。"
}

// isJSON accepts application/json with well-formed parameters, as gqlgen's
// POST transport (which parses the media type the same way) does.
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// SecurityHeaders sets the headers every response carries: no MIME sniffing,
// no framing (clickjacking), no referrer. GraphQL answers may hold personal
// data, so intermediaries and browsers must not store them.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == "/graphql" {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}
