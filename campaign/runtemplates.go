package campaign

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// RunTemplate is an open run and the template of its campaign, as the
// dispatcher prepares it before claiming the run's deliveries.
type RunTemplate struct {
	RunID      int64
	CampaignID int64
	// Closed is set for a run the caller said it holds that is no longer
	// open (or whose campaign no longer sends): the caller forgets it.
	// Template is nil.
	Closed   bool
	Template *Template // nil when the campaign names no template
}

// templateTimeout bounds the preparation of templates before a claim.
const templateTimeout = 5 * time.Second

// runTemplate is a run's prepared template, or why it cannot be sent.
type runTemplate struct {
	p   *Prepared
	err error // invalid: the run's deliveries fail
}

// templateCache holds each open run's prepared template. It is refreshed
// before a claim (when runs may have opened: Dispatcher.refreshTemplates)
// with one query, which brings the templates of the open runs not yet cached
// and names the cached ones that closed, so a claimed delivery is rendered
// and sent at once. A delivery of a run not yet cached is released, never
// sent late: its token was spent at the claim, and a late send would reach
// the API closer to the account's next one than the pacing allows (SPEC §6).
// The cache holds exactly the open runs, whoever completed the others, so it
// needs no bound of its own and never starts over; runs of one template
// share its preparation.
type templateCache struct {
	mu   sync.Mutex
	runs map[int64]runTemplate
}

// refresh prepares the templates of the open runs not yet cached and drops
// the runs that are no longer open. It reports whether runs were added.
func (c *templateCache) refresh(ctx context.Context, store DeliveryStore) (added bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, templateTimeout)
	defer cancel()
	rts, err := store.OpenTemplates(ctx, c.known())
	if err != nil {
		return false, fmt.Errorf("prepare templates: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[int64]runTemplate{}
	}
	shared := map[Template]runTemplate{}
	for _, rt := range rts {
		if rt.Closed {
			delete(c.runs, rt.RunID)
			continue
		}
		added = true
		if rt.Template != nil {
			if p, ok := shared[*rt.Template]; ok {
				c.runs[rt.RunID] = p
				continue
			}
		}
		p := prepareRun(rt)
		if rt.Template != nil {
			shared[*rt.Template] = p
		}
		c.runs[rt.RunID] = p
	}
	return added, nil
}

// prepareRun parses a run's template once, for all of its deliveries.
func prepareRun(rt RunTemplate) runTemplate {
	if rt.Template == nil {
		return runTemplate{err: invalid("campaign %d has no template", rt.CampaignID)}
	}
	p, err := Prepare(*rt.Template)
	if err != nil {
		return runTemplate{err: invalid("template %q: %v", rt.Template.Name, err)}
	}
	return runTemplate{p: p}
}

// known lists the runs cached.
func (c *templateCache) known() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.runs))
}

// get returns a run's template, if it was prepared.
func (c *templateCache) get(runID int64) (runTemplate, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rt, ok := c.runs[runID]
	return rt, ok
}

func (c *templateCache) forget(runID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.runs, runID)
}
