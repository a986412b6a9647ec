package resolvers

import (
	"context"
	"strings"
	"unicode/utf8"

	"govmobile/agentchat"
	"govmobile/catalogue"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/viewer"
)

// askThreshold is the confidence below which ask offers a human agent.
const askThreshold = 0.6

// maxQuestion bounds a question to ask, in characters.
const maxQuestion = 200

// ask answers a question from the knowledge base: of the three entries
// that match it best, the one covering most of the question's content
// words (the better-scored on a tie); the share covered is the confidence.
func (r *Resolver) ask(ctx context.Context, question string) (*model.Answer, error) {
	question = strings.TrimSpace(question)
	if question == "" || utf8.RuneCountInString(question) > maxQuestion || !utf8.ValidString(question) {
		return nil, models.InvalidField("question", "请输入1到200个字的问题。")
	}
	hits, terms, err := r.Searcher.AskKnowledge(ctx, question, 3)
	if err != nil {
		return nil, err
	}
	ids := make([]uint64, len(hits))
	for i, h := range hits {
		ids[i] = h.ID
	}
	entries, err := r.Catalogue.KnowledgeEntries(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := &model.Answer{Sources: []*models.KnowledgeEntry{}}
	var best *models.KnowledgeEntry
	for _, e := range entries {
		if e == nil {
			continue
		}
		out.Sources = append(out.Sources, e)
		if c := r.Searcher.Coverage(terms, e.Question+" "+strings.Join(e.Keywords, " ")); best == nil || c > out.Confidence {
			best, out.Confidence = e, c
		}
	}
	if best != nil && out.Confidence >= askThreshold {
		out.Answer = &best.Answer
		// The answer's entry leads the sources.
		for i, e := range out.Sources {
			if e == best {
				out.Sources[0], out.Sources[i] = out.Sources[i], out.Sources[0]
			}
		}
	}
	out.OfferHuman = out.Answer == nil
	return out, nil
}

// chatParty is the caller of a chat operation, citizen or agent, and the
// chat's ID.
func chatParty(ctx context.Context, chatID string) (agentchat.Party, uint64, error) {
	id, err := parseNumericID("chatId", chatID, kindChat)
	if err != nil {
		return agentchat.Party{}, 0, err
	}
	v := viewer.From(ctx)
	u, err := v.User(ctx)
	if u != nil {
		return agentchat.Party{UserID: u.ID}, id, nil
	}
	if err != nil && models.ErrorCode(err) != models.ECodeUnauthenticated {
		return agentchat.Party{}, 0, err
	}
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		if models.ErrorCode(err) == models.ECodeUnauthenticated {
			err = models.Errorf(models.ECodeUnauthenticated, "请先登录。")
		}
		return agentchat.Party{}, 0, err
	}
	return agentchat.Party{AgentID: a.ID}, id, nil
}

// knowledgeInput is an entry as the catalogue takes it.
func knowledgeInput(in *model.KnowledgeEntryInput) catalogue.KnowledgeInput {
	return catalogue.KnowledgeInput{Question: in.Question, Answer: in.Answer, Keywords: in.Keywords, MatterCode: deref(in.MatterCode)}
}
