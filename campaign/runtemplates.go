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
	Template   *Template // nil when the campaign names no template
}

// maxCachedRuns bounds the template cache of a long-running daemon.
const maxCachedRuns = 1024

// templateTimeout bounds the preparation of templates before a claim.
const templateTimeout = 5 * time.Second

// runTemplate is a run's prepared template, or why it cannot be sent.
type runTemplate struct {
	p   *Prepared
	err error // invalid: the run's deliveries fail
}

// templateCache holds each open run's prepared template. It is filled before
// every claim, with one query for the open runs it does not hold yet, so a
// claimed delivery is rendered and sent at once: a template loaded after the
// claim would delay a run's first sends until the next claim of the same
// account caught up with them, and the API would see two sends where the
// pacing spent two tokens far apart (SPEC §6).
type templateCache struct {
	mu   sync.Mutex
	runs map[int64]runTemplate
}

// refresh prepares the templates of the open runs not yet cached.
func (c *templateCache) refresh(ctx context.Context, store DeliveryStore) error {
	ctx, cancel := context.WithTimeout(ctx, templateTimeout)
	defer cancel()
	rts, err := store.OpenTemplates(ctx, c.known())
	if err != nil {
		return fmt.Errorf("prepare templates: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rt := range rts {
		c.runs[rt.RunID] = prepareRun(rt)
	}
	return nil
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

// known lists the runs cached. Runs completed by other instances are never
// forgotten one by one, so past maxCachedRuns the cache starts again from
// the open runs.
func (c *templateCache) known() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil || len(c.runs) >= maxCachedRuns {
		c.runs = map[int64]runTemplate{}
	}
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
