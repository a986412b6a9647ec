// Package loaders builds the per-request dataloaders for every relation of the
// catalogue and of cases, so a page of N matters or cases costs one statement
// per relation, not N.
// Loaders live for one request only: they never serve another user's data.
package loaders

import (
	"context"
	"net/http"
	"time"

	"govmobile/cases"
	"govmobile/catalogue"
	"govmobile/models"

	"github.com/vikstrous/dataloadgen"
)

// wait is how long a loader gathers keys before it fetches. gqlgen resolves
// the elements of a list concurrently, so the keys of one page arrive within
// microseconds of each other.
const wait = 500 * time.Microsecond

// Loaders are one request's dataloaders.
type Loaders struct {
	Agency *dataloadgen.Loader[uint64, *models.Agency]
	Themes *dataloadgen.Loader[uint64, []*models.Theme]
	Halls  *dataloadgen.Loader[uint64, []*models.Hall]
	Guide  *dataloadgen.Loader[uint64, *models.Guide]
	Matter *dataloadgen.Loader[uint64, *models.Matter]
	Hall   *dataloadgen.Loader[uint64, *models.Hall]
	// HallMatterCount is how many matters a hall handles; HallMatters the
	// most popular of them.
	HallMatterCount *dataloadgen.Loader[uint64, int]
	HallMatters     *dataloadgen.Loader[uint64, []*models.Matter]
	// Timeline and Materials load cases' steps and files; nil outside a
	// request.
	Timeline  *dataloadgen.Loader[uint64, []*models.CaseEvent]
	Materials *dataloadgen.Loader[uint64, []*models.CaseFile]
}

// New builds a fresh set of loaders over the catalogue.
func New(cat *catalogue.Service) *Loaders {
	opts := []dataloadgen.Option{dataloadgen.WithWait(wait), dataloadgen.WithBatchCapacity(200)}
	return &Loaders{
		Agency: dataloadgen.NewLoader(sliceFetch(cat.AgenciesByID), opts...),
		Themes: dataloadgen.NewLoader(sliceFetch(cat.ThemesByMatter), opts...),
		Halls:  dataloadgen.NewLoader(sliceFetch(cat.HallsByMatter), opts...),
		Guide:  dataloadgen.NewLoader(sliceFetch(cat.GuidesByMatter), opts...),
		Matter: dataloadgen.NewLoader(sliceFetch(cat.MattersByKey), opts...),
		Hall:   dataloadgen.NewLoader(sliceFetch(cat.HallsByID), opts...),

		HallMatterCount: dataloadgen.NewLoader(sliceFetch(cat.MatterCountsOfHalls), opts...),
		HallMatters:     dataloadgen.NewLoader(sliceFetch(cat.MattersOfHalls), opts...),
	}
}

// sliceFetch adapts a batch read returning one value per key.
func sliceFetch[V any](f func(context.Context, []uint64) ([]V, error)) func(context.Context, []uint64) ([]V, []error) {
	return func(ctx context.Context, keys []uint64) ([]V, []error) {
		vals, err := f(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		return vals, nil
	}
}

type ctxKey struct{}

// Middleware puts fresh loaders into every request's context.
func Middleware(cat *catalogue.Service, cs *cases.Service, files *cases.Files, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(Fresh(r.Context(), cat, cs, files)))
	})
}

// Fresh returns ctx with a new set of loaders: one per request, and one
// per operation on a websocket, which lives for many.
func Fresh(ctx context.Context, cat *catalogue.Service, cs *cases.Service, files *cases.Files) context.Context {
	l := New(cat)
	opts := []dataloadgen.Option{dataloadgen.WithWait(wait), dataloadgen.WithBatchCapacity(200)}
	l.Timeline = dataloadgen.NewLoader(sliceFetch(cs.TimelinesByCase), opts...)
	l.Materials = dataloadgen.NewLoader(sliceFetch(files.ByCase), opts...)
	return context.WithValue(ctx, ctxKey{}, l)
}

// For returns the request's loaders; outside a request (tests, scripts) it
// makes a fresh set.
func For(ctx context.Context, cat *catalogue.Service) *Loaders {
	if l, ok := ctx.Value(ctxKey{}).(*Loaders); ok {
		return l
	}
	return New(cat)
}

// PrimeMatters starts, in one batch per relation, the loads a page of matters
// will need, for the relations the query selects. gqlgen resolves the page's
// elements in separate goroutines; without this their keys could straggle
// into several batches under load.
func (l *Loaders) PrimeMatters(ctx context.Context, matters []*models.Matter, selected func(field string) bool) {
	if len(matters) == 0 {
		return
	}
	ids := make([]uint64, len(matters))
	agencies := make([]uint64, 0, len(matters))
	for i, m := range matters {
		ids[i] = m.ID
		agencies = append(agencies, m.AgencyID)
	}
	if selected("agency") {
		l.Agency.LoadAllThunk(ctx, agencies)
	}
	if selected("themes") {
		l.Themes.LoadAllThunk(ctx, ids)
	}
	if selected("halls") {
		l.Halls.LoadAllThunk(ctx, ids)
	}
	if selected("guide") {
		l.Guide.LoadAllThunk(ctx, ids)
	}
}

// PrimeCases starts, in one batch per relation, the loads a page of cases
// will need, for the relations the query selects (see PrimeMatters).
func (l *Loaders) PrimeCases(ctx context.Context, cs []*models.Case, selected func(field string) bool) {
	if len(cs) == 0 {
		return
	}
	ids, matters, agencies := make([]uint64, len(cs)), make([]uint64, len(cs)), make([]uint64, len(cs))
	for i, c := range cs {
		ids[i], matters[i], agencies[i] = c.ID, c.MatterID, c.AgencyID
	}
	if selected("matter") {
		l.Matter.LoadAllThunk(ctx, matters)
	}
	if selected("agency") {
		l.Agency.LoadAllThunk(ctx, agencies)
	}
	if l.Timeline != nil && (selected("timeline") || selected("lastStep")) {
		l.Timeline.LoadAllThunk(ctx, ids)
	}
	if l.Materials != nil && (selected("materials") || selected("results")) {
		l.Materials.LoadAllThunk(ctx, ids)
	}
}

// PrimeHalls starts, in one batch per relation, the loads a page of halls
// will need: their matter counts and matters, and those matters' agencies
// (which waits for the matters). selected says which hall fields the query
// asks for, matterSelected which fields of their matters.
func (l *Loaders) PrimeHalls(ctx context.Context, halls []*models.Hall, selected, matterSelected func(field string) bool) {
	if len(halls) == 0 {
		return
	}
	ids := make([]uint64, len(halls))
	for i, h := range halls {
		ids[i] = h.ID
	}
	if selected("matterCount") {
		l.HallMatterCount.LoadAllThunk(ctx, ids)
	}
	if !selected("matters") {
		return
	}
	load := l.HallMatters.LoadAllThunk(ctx, ids)
	if !matterSelected("agency") {
		return
	}
	lists, _ := load()
	var agencies []uint64
	for _, ms := range lists {
		for _, m := range ms {
			agencies = append(agencies, m.AgencyID)
		}
	}
	l.Agency.LoadAllThunk(ctx, agencies)
}
