package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// codePersistedOnly answers an operation that is not on the allowlist.
const codePersistedOnly = "PERSISTED_QUERY_NOT_ALLOWED"

// LoadPersistedQueries reads an allowlist file: a JSON object from the
// SHA-256 (hex) of each operation's text to the text, as Apollo's and
// Relay's persisted-query manifests are. Every entry's hash is checked.
func LoadPersistedQueries(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list map[string]string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of sha256 → query: %w", path, err)
	}
	for hash, q := range list {
		if sum := sha256.Sum256([]byte(q)); hex.EncodeToString(sum[:]) != hash {
			return nil, fmt.Errorf("%s: the query under %.12s… does not hash to it", path, hash)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no queries", path)
	}
	return list, nil
}

// persistedOnly runs only the operations of an allowlist (production with
// a known set of clients): by hash (Automatic Persisted Queries' request
// shape) or by a text whose hash is listed. Anything else is refused
// before parsing.
type persistedOnly struct{ queries map[string]string }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = persistedOnly{}

func (persistedOnly) ExtensionName() string                   { return "PersistedQueriesOnly" }
func (persistedOnly) Validate(graphql.ExecutableSchema) error { return nil }

func (p persistedOnly) MutateOperationParameters(_ context.Context, raw *graphql.RawParams) *gqlerror.Error {
	hash := ""
	if pq, ok := raw.Extensions["persistedQuery"].(map[string]any); ok {
		hash, _ = pq["sha256Hash"].(string)
	}
	if raw.Query != "" {
		sum := sha256.Sum256([]byte(raw.Query))
		if h := hex.EncodeToString(sum[:]); hash == "" || hash == h {
			hash = h
		} else {
			hash = "" // a text and another text's hash: neither is trusted
		}
	}
	q, ok := p.queries[hash]
	if !ok {
		err := gqlerror.Errorf("operation not on the allowlist")
		errcode.Set(err, codePersistedOnly)
		return err
	}
	raw.Query = q
	delete(raw.Extensions, "persistedQuery")
	return nil
}

// codePersistedInvalid answers a persistedQuery extension that is not one.
const codePersistedInvalid = "PERSISTED_QUERY_INVALID"

// persistedShape checks the persistedQuery extension before gqlgen's
// Automatic Persisted Queries read it, so a malformed one is the client's
// error with its own code, not an internal one: an object of version 1
// with a 64-hex SHA-256, which is the query's when both are sent.
type persistedShape struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = persistedShape{}

func (persistedShape) ExtensionName() string                   { return "PersistedQueryShape" }
func (persistedShape) Validate(graphql.ExecutableSchema) error { return nil }

func (persistedShape) MutateOperationParameters(_ context.Context, raw *graphql.RawParams) *gqlerror.Error {
	v, present := raw.Extensions["persistedQuery"]
	if !present {
		return nil
	}
	invalid := func(why string) *gqlerror.Error {
		err := gqlerror.Errorf("persistedQuery: %s", why)
		errcode.Set(err, codePersistedInvalid)
		return err
	}
	pq, ok := v.(map[string]any)
	if !ok {
		return invalid("not an object")
	}
	// JSON numbers arrive as float64 or json.Number, depending on the decoder.
	if fmt.Sprint(pq["version"]) != "1" {
		return invalid("version must be 1")
	}
	hash, _ := pq["sha256Hash"].(string)
	if len(hash) != 64 {
		return invalid("sha256Hash must be 64 hex digits")
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return invalid("sha256Hash must be 64 hex digits")
	}
	if raw.Query != "" {
		if sum := sha256.Sum256([]byte(raw.Query)); hex.EncodeToString(sum[:]) != strings.ToLower(hash) {
			return invalid("sha256Hash is not the query's")
		}
	}
	return nil
}
