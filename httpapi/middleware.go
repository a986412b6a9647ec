package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"govmobile/models"
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

// Guard enforces Limits. It reads the body once, so the cache and gqlgen
// downstream see a body that is known to be bounded and well-formed JSON.
func Guard(l Limits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), l.Timeout)
		defer cancel()
		r = r.WithContext(ctx)
		if r.Method == http.MethodPost {
			if r.ContentLength > l.MaxBodyBytes {
				writeError(w, http.StatusRequestEntityTooLarge, models.ECodeBadUserInput, tooLarge(l.MaxBodyBytes))
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.MaxBodyBytes))
			if err != nil {
				var mbe *http.MaxBytesError
				if asMaxBytes(err, &mbe) {
					writeError(w, http.StatusRequestEntityTooLarge, models.ECodeBadUserInput, tooLarge(l.MaxBodyBytes))
					return
				}
				writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请求体读取失败，请重试。")
				return
			}
			if isJSON(r.Header.Get("Content-Type")) && !validRequestBody(body) {
				writeError(w, http.StatusBadRequest, models.ECodeBadUserInput, "请求体不是合法的 JSON，或缺少 query 字段。")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		}
		next.ServeHTTP(w, r)
	})
}

type bodyKey struct{}

func requestBody(r *http.Request) []byte {
	b, _ := r.Context().Value(bodyKey{}).([]byte)
	return b
}

func tooLarge(limit int64) string {
	return "请求体过大，不能超过 " + strconv.FormatInt(limit/1024, 10) + " KB。"
}

func asMaxBytes(err error, target **http.MaxBytesError) bool {
	for err != nil {
		if e, ok := err.(*http.MaxBytesError); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func isJSON(contentType string) bool {
	return len(contentType) >= 16 && (contentType[:16] == "application/json")
}

// validRequestBody accepts a JSON object, or a batch (array) of them, which
// gqlgen will answer itself; it rejects anything that is not JSON at all.
func validRequestBody(body []byte) bool {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || !json.Valid(body) {
		return false
	}
	return body[0] == '{' || body[0] == '['
}
