package resolvers

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"govmobile/consult"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/pagination"
	"govmobile/search"
)

// consultationInput is a consultation as the domain takes it.
func consultationInput(in *model.ConsultationInput) (*consult.Input, error) {
	matter, err := optionalID("consultation.matterId", in.MatterID, kindMatter)
	if err != nil {
		return nil, err
	}
	agency, err := optionalID("consultation.agencyId", in.AgencyID, kindAgency)
	if err != nil {
		return nil, err
	}
	return &consult.Input{Kind: in.Kind, MatterID: matter, AgencyID: agency, Title: deref(in.Title), Content: deref(in.Content)}, nil
}

func consultationPayload(c *models.Consultation, err error) (*model.ConsultationPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.ConsultationPayload{Consultation: c}, nil
}

// optionalID parses a global ID that may be absent (0).
func optionalID(field string, id *string, kind string) (uint64, error) {
	if id == nil {
		return 0, nil
	}
	return parseNumericID(field, *id, kind)
}

// clerkStep runs a step on the consultation with the given global ID for
// the calling staff member.
func (r *Resolver) clerkStep(ctx context.Context, gid string, step func(consult.Clerk, uint64) (*models.Consultation, error)) (*model.ConsultationPayload, error) {
	staff, err := agencyStaff(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseNumericID("consultationId", gid, kindConsultation)
	if err != nil {
		return nil, err
	}
	return consultationPayload(step(consult.Clerk{AdminID: staff.ID, AgencyID: staff.AgencyID}, id))
}

// consultationConnection is a page of an owner's consultations.
func (r *Resolver) consultationConnection(ctx context.Context, owner consult.Owner, status *consult.Status, first *int, after *string) (*model.ConsultationConnection, error) {
	var st consult.Status
	if status != nil {
		st = *status
	}
	p, err := readIDPage(first, after, "consultations", func(n int, afterID uint64) ([]*models.Consultation, int64, error) {
		return r.Consultations.List(ctx, owner, st, n, afterID)
	}, func(c *models.Consultation) uint64 { return c.ID },
		func(cur string, c *models.Consultation) *model.ConsultationEdge {
			return &model.ConsultationEdge{Cursor: cur, Node: c}
		})
	if err != nil {
		return nil, err
	}
	return &model.ConsultationConnection{TotalCount: p.Total, Edges: p.Edges, PageInfo: p.Info}, nil
}

// similarAnswers are the knowledge entries most like a text, at most n:
// the text's first characters searched in the knowledge scope. A text
// with nothing searchable finds nothing, rather than failing.
func (r *Resolver) similarAnswers(ctx context.Context, text string, n int) ([]*models.KnowledgeEntry, error) {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) > search.MaxQueryLength {
		text = string([]rune(text)[:search.MaxQueryLength])
	}
	if text == "" {
		return []*models.KnowledgeEntry{}, nil
	}
	res, err := r.Searcher.Search(ctx, search.Request{Query: text, Scope: search.ScopeKnowledge, Order: search.OrderRelevance, First: n, NoLog: true})
	if err != nil {
		if models.ErrorCode(err) == models.ECodeBadUserInput {
			return []*models.KnowledgeEntry{}, nil
		}
		return nil, err
	}
	ids := make([]uint64, 0, len(res.Hits))
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	entries, err := r.Catalogue.KnowledgeEntries(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*models.KnowledgeEntry, 0, len(entries))
	for _, e := range entries {
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// openItems are the user's consultations still waiting for an answer: those
// most like the text first, then those about the same matter or agency.
func (r *Resolver) openItems(ctx context.Context, userID uint64, text string, matterID, agencyID uint64, n int) ([]*models.Consultation, error) {
	hits, err := r.Searcher.SimilarConsultations(ctx, text, userID, 0, 20)
	if err != nil {
		return nil, err
	}
	out, err := r.Consultations.ByIDs(ctx, consult.Owner{UserID: userID}, hitIDs(hits), consult.Submitted, consult.Assigned)
	if err != nil {
		return nil, err
	}
	same, err := r.Consultations.OpenItems(ctx, userID, matterID, agencyID, n)
	if err != nil {
		return nil, err
	}
	for _, c := range same {
		if !slices.ContainsFunc(out, func(o *models.Consultation) bool { return o.ID == c.ID }) {
			out = append(out, c)
		}
	}
	return out[:min(len(out), n)], nil
}

// similarConsultations is an agency's consultations most like a keyword,
// at most first, in one page.
func (r *Resolver) similarConsultations(ctx context.Context, owner consult.Owner, keyword string, status *consult.Status, first *int, after *string) (*model.ConsultationConnection, error) {
	n, err := pagination.PageSize(first)
	if err != nil {
		return nil, err
	}
	if after != nil {
		return nil, models.InvalidField("after", "按关键词查找时只有一页，请去掉 after。")
	}
	if utf8.RuneCountInString(keyword) > 100 {
		return nil, models.InvalidField("keyword", "关键词不能超过100个字。")
	}
	// The status is not in the index: the most alike 100 are read, then
	// filtered, then cut to the page.
	hits, err := r.Searcher.SimilarConsultations(ctx, keyword, 0, owner.AgencyID, 100)
	if err != nil {
		return nil, err
	}
	var statuses []consult.Status
	if status != nil {
		statuses = append(statuses, *status)
	}
	rows, err := r.Consultations.ByIDs(ctx, owner, hitIDs(hits), statuses...)
	if err != nil {
		return nil, err
	}
	rows = rows[:min(len(rows), n)]
	conn := &model.ConsultationConnection{TotalCount: len(rows), PageInfo: &model.PageInfo{}, Edges: []*model.ConsultationEdge{}}
	for _, c := range rows {
		conn.Edges = append(conn.Edges, &model.ConsultationEdge{Cursor: pagination.Encode(pagination.Cursor{Order: "consultations-keyword", Value: "", ID: c.ID}), Node: c})
	}
	return conn, nil
}

func hitIDs(hits []search.Hit) []uint64 {
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	return ids
}
