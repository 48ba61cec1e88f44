package campaign

import (
	"context"
	"slices"
	"testing"
)

// openRuns is a store whose open runs are given: it answers OpenTemplates as
// the database does, templates only for runs the caller does not hold, and
// counts the templates it sent.
type openRuns struct {
	DeliveryStore
	open []int64
	sent int
}

func (s *openRuns) OpenTemplates(_ context.Context, known []int64) ([]RunTemplate, error) {
	var out []RunTemplate
	for _, id := range s.open {
		if !slices.Contains(known, id) {
			out = append(out, RunTemplate{RunID: id, CampaignID: id,
				Template: &Template{ID: id % 3, Name: "t", ImgURL: "https://cdn.example/a.png", Content: "<appmsg><title>x</title></appmsg>"}})
			s.sent++
		}
	}
	for _, id := range known {
		if !slices.Contains(s.open, id) {
			out = append(out, RunTemplate{RunID: id, Closed: true})
		}
	}
	return out, nil
}

// However many runs are open, a refresh fetches and prepares only the new
// ones, and the runs that closed (completed by any instance) leave the
// cache; it never starts over.
func TestTemplateCacheHoldsExactlyTheOpenRuns(t *testing.T) {
	ctx := context.Background()
	var c templateCache
	store := &openRuns{}
	for id := int64(1); id <= 3000; id++ {
		store.open = append(store.open, id)
	}
	if _, err := c.refresh(ctx, store); err != nil {
		t.Fatal(err)
	}
	if store.sent != 3000 {
		t.Fatalf("first refresh fetched %d templates, want 3000", store.sent)
	}
	store.sent = 0
	store.open = append(store.open[1000:], 3001) // 1,000 runs closed elsewhere, one opened
	if _, err := c.refresh(ctx, store); err != nil {
		t.Fatal(err)
	}
	if store.sent != 1 {
		t.Errorf("second refresh fetched %d templates, want 1: only the new run's", store.sent)
	}
	if _, ok := c.get(1); ok {
		t.Error("run 1 closed but stays cached")
	}
	for _, id := range []int64{1001, 3000, 3001} {
		if rt, ok := c.get(id); !ok || rt.p == nil {
			t.Errorf("open run %d: %+v, %v; want its prepared template", id, rt, ok)
		}
	}
	if len(c.known()) != 2001 {
		t.Errorf("cache holds %d runs, want the 2001 open ones", len(c.known()))
	}
}
