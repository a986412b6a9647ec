package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// wantsGraphQLResponse reports whether the client accepts the
// application/graphql-response+json media type of the GraphQL-over-HTTP
// specification.
func wantsGraphQLResponse(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/graphql-response+json")
}

// MediaStatus shapes a request error (a document that does not parse or
// validate, variables that do not coerce: gqlgen answers 400 or 422) as the
// GraphQL-over-HTTP specification asks for the media type the client
// accepts: 200 for application/json, whose clients read errors from the
// body; a 4xx without a "data" entry for application/graphql-response+json.
// Every other answer passes untouched and unbuffered.
func MediaStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r) // a websocket's operations answer on the socket
			return
		}
		mw := &mediaWriter{ResponseWriter: w, graphqlResponse: wantsGraphQLResponse(r)}
		next.ServeHTTP(mw, r)
		mw.finish()
	})
}

type mediaWriter struct {
	http.ResponseWriter
	graphqlResponse bool
	held            bool // a request error being rewritten: its body is buffered
	status          int
	body            bytes.Buffer
}

func (m *mediaWriter) WriteHeader(code int) {
	if (code == http.StatusUnprocessableEntity || code == http.StatusBadRequest) && !m.held {
		m.held, m.status = true, code
		return
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *mediaWriter) Write(p []byte) (int, error) {
	if m.held {
		return m.body.Write(p)
	}
	return m.ResponseWriter.Write(p)
}

func (m *mediaWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

func (m *mediaWriter) finish() {
	if !m.held {
		return
	}
	body := m.body.Bytes()
	status := http.StatusOK
	if m.graphqlResponse {
		status = http.StatusBadRequest
		// A request error has no execution: no "data" entry.
		var out map[string]json.RawMessage
		if json.Unmarshal(body, &out) == nil {
			delete(out, "data")
			if b, err := json.Marshal(out); err == nil {
				body = b
			}
		}
	}
	m.ResponseWriter.Header().Del("Content-Length")
	m.ResponseWriter.WriteHeader(status)
	_, _ = m.ResponseWriter.Write(body)
}
