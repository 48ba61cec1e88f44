package campaign

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/broadcaster/broadcaster/campaign/campaigntest"
)

// countingTemplates counts the store's template refreshes.
type countingTemplates struct {
	DeliveryStore
	calls int
}

func (s *countingTemplates) OpenTemplates(context.Context, []int64) ([]RunTemplate, error) {
	s.calls++
	return nil, nil
}

// The open runs' templates are asked for before the first claim, then when
// they are older than templatesMaxAge, or when a wake-up or a claimed
// delivery of an unknown run says that runs have opened; not before every
// claim.
func TestTemplatesAreRefreshedWhenRunsMayHaveOpened(t *testing.T) {
	ctx := context.Background()
	clock := campaigntest.NewClock(time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC))
	store := &countingTemplates{}
	d := NewDispatcher(store, nil, DispatchConfig{Clock: clock}, zerolog.Nop())
	steps := []struct {
		name    string
		before  func()
		refresh bool
	}{
		{"first claim", nil, true},
		{"next claim", nil, false},
		{"just before the age", func() { clock.Advance(templatesMaxAge - time.Millisecond) }, false},
		{"at the age", func() { clock.Advance(time.Millisecond) }, true},
		{"woken: a run was created", d.Wake, true},
		{"after the wake-up's refresh", nil, false},
		{"a delivery of an unknown run was claimed", func() { d.templatesStale.Store(true) }, true},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		before := store.calls
		if err := d.refreshTemplates(ctx); err != nil {
			t.Fatal(err)
		}
		if refreshed := store.calls > before; refreshed != st.refresh {
			t.Errorf("%s: refreshed = %v, want %v", st.name, refreshed, st.refresh)
		}
	}
}
