package app

import (
	"context"

	"govmobile/evaluation"
	"govmobile/models"
)

// recordDomainEvents has the domain services tell the behaviour-event
// recorder of what they did, once each (a retry's replay is not told),
// with the region it happened in, so regional statistics see it.
func (a *App) recordDomainEvents() {
	a.Cases.Submitted = func(ctx context.Context, c *models.Case) {
		ev := models.Event{Kind: models.EventSubmitCase, UserID: c.UserID, SubjectKind: models.SubjectMatter, SubjectID: c.MatterID}
		if m, err := a.Catalogue.Matter(ctx, c.MatterID); err == nil && m != nil {
			ev.RegionCode = m.RegionCode
		}
		a.Events.Record(ev)
	}
	a.Evaluations.Rated = func(_ context.Context, e *models.Evaluation) {
		score := evaluation.Level(e.Level).Score()
		ev := models.Event{Kind: models.EventEvaluate, UserID: e.UserID, Value: &score, RegionCode: e.RegionCode}
		switch {
		case e.MatterID != 0:
			ev.SubjectKind, ev.SubjectID = models.SubjectMatter, e.MatterID
		case e.AppID != 0:
			ev.SubjectKind, ev.SubjectID = models.SubjectApp, e.AppID
		}
		a.Events.Record(ev)
	}
}

// recordChecks counts the health checks' calls to source interfaces as
// interface calls, with their latency: the platform's own calls to them.
func (a *App) recordChecks(_ context.Context, checks []models.InterfaceCheck) {
	for _, c := range checks {
		latency := int64(c.LatencyMs)
		a.Events.Record(models.Event{Kind: models.EventInterfaceCall, SubjectKind: models.SubjectInterface, SubjectID: c.InterfaceID,
			Value: &latency, OccurredAt: c.CheckedAt})
	}
}
