// Package viewer carries who is making a request: the bearer ticket as sent,
// checked lazily the first time a resolver asks, so public queries with a
// stale ticket still work and cost no ticket lookup. It never stores anything.
package viewer

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"govmobile/models"
)

// Authenticator resolves a ticket to its user or administrator.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*models.User, error)
	AuthenticateAdmin(ctx context.Context, token string) (*models.Admin, error)
	// AdminPermissions are the permissions an administrator's roles hold.
	AdminPermissions(ctx context.Context, adminID uint64) ([]string, error)
}

// Viewer is the request's caller.
type Viewer struct {
	Token string
	IP    string
	auth  Authenticator
	once  sync.Once
	user  *models.User
	err   error

	adminOnce sync.Once
	permsOnce sync.Once
	perms     []string
	permsErr  error
	admin     *models.Admin
	adminErr  error
}

type ctxKey struct{}

// Middleware reads the Authorization header into the request's viewer.
func Middleware(auth Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &Viewer{Token: BearerToken(r), IP: clientIP(r), auth: auth}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), v)))
	})
}

// WithToken is a viewer for the same connection with another ticket: a
// websocket sends its ticket in its first message, not in a header.
func (v *Viewer) WithToken(token string) *Viewer {
	return &Viewer{Token: token, IP: v.IP, auth: v.auth}
}

// With returns ctx carrying v.
func With(ctx context.Context, v *Viewer) context.Context { return context.WithValue(ctx, ctxKey{}, v) }

// From returns the request's viewer (an anonymous one when there is none).
func From(ctx context.Context) *Viewer {
	if v, ok := ctx.Value(ctxKey{}).(*Viewer); ok {
		return v
	}
	return &Viewer{}
}

// BearerToken extracts the ticket from "Authorization: Bearer <ticket>".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// User returns the logged-in user: nil without a ticket, an UNAUTHENTICATED
// error for a ticket that is unknown, expired or revoked.
func (v *Viewer) User(ctx context.Context) (*models.User, error) {
	if v.Token == "" || v.auth == nil {
		return nil, nil
	}
	v.once.Do(func() { v.user, v.err = v.auth.Authenticate(ctx, v.Token) })
	return v.user, v.err
}

// RequireUser is User, but anonymous callers get UNAUTHENTICATED too.
func (v *Viewer) RequireUser(ctx context.Context) (*models.User, error) {
	u, err := v.User(ctx)
	if err == nil && u == nil {
		err = models.Errorf(models.ECodeUnauthenticated, "请先登录。")
	}
	return u, err
}

// RequireAdmin returns the logged-in administrator of the management centre.
// Without an admin ticket it answers UNAUTHENTICATED; a citizen's ticket is
// not an admin ticket. What the administrator may do is Allowed's.
func (v *Viewer) RequireAdmin(ctx context.Context) (*models.Admin, error) {
	if v.Token != "" && v.auth != nil {
		v.adminOnce.Do(func() { v.admin, v.adminErr = v.auth.AuthenticateAdmin(ctx, v.Token) })
	}
	if v.adminErr != nil {
		return nil, v.adminErr
	}
	if v.admin == nil {
		return nil, models.Errorf(models.ECodeUnauthenticated, "请先以管理员身份登录。")
	}
	return v.admin, nil
}

// Allowed reports whether the logged-in administrator holds a permission
// (8.2.4): a super-admin holds every one; others, those of their roles.
// Without an admin ticket it answers UNAUTHENTICATED.
func (v *Viewer) Allowed(ctx context.Context, permission string) (bool, error) {
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return false, err
	}
	if a.SuperAdmin {
		return true, nil
	}
	v.permsOnce.Do(func() { v.perms, v.permsErr = v.auth.AdminPermissions(ctx, a.ID) })
	if v.permsErr != nil {
		return false, v.permsErr
	}
	for _, p := range v.perms {
		if p == permission {
			return true, nil
		}
	}
	return false, nil
}
