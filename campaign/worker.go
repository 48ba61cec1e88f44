package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/sourcegraph/conc/panics"
	"github.com/sourcegraph/conc/pool"
)

// start sends one claimed delivery on a worker of its own; the delivery's
// slot, taken at claim, is freed once its result is written. The send is
// detached from ctx: a request already started finishes (bounded by the
// sender's timeout) and is recorded, even when the process is stopping.
func (d *Dispatcher) start(ctx context.Context, workers *pool.Pool, rec *recorder, dl Delivery, rt runTemplate) {
	d.busy.Add(1)
	sendCtx := context.WithoutCancel(ctx)
	workers.Go(func() {
		defer func() {
			d.busy.Add(-1)
			signal(d.freed)
		}()
		res, sent := d.attempt(ctx, sendCtx, dl, rt)
		if !sent {
			d.unsent.add(dl)
			d.cfg.Outage.Unsent(dl.ID)
			return
		}
		d.cfg.Outage.Observe(res)
		if d.cfg.Pacing.BreakerFailures > 0 && res.Attempt.AccountFailure() {
			d.failing.add(dl.WID)
		}
		rec.add(res)
	})
}

// attempt sends dl and decides its fate, unless stop ended before its
// request could start (sent is false). A panic fails that delivery, never
// the process.
func (d *Dispatcher) attempt(stop, ctx context.Context, dl Delivery, rt runTemplate) (res Result, sent bool) {
	started := d.cfg.Clock.Now()
	sent = true
	var pc panics.Catcher
	pc.Try(func() { res, sent = d.send(stop, ctx, dl, rt) })
	if r := pc.Recovered(); r != nil {
		d.log.Error().Int64("delivery_id", dl.ID).Str("panic", fmt.Sprint(r.Value)).
			Str("stack", string(r.Stack)).Msg("panic while sending; delivery failed")
		msg := fmt.Sprintf("internal error: %v", r.Value)
		res = Result{Delivery: dl, Status: DeliveryFailed, Error: msg,
			Attempt: Attempt{Outcome: OutcomeFailed, StartedAt: started, Duration: d.cfg.Clock.Now().Sub(started), Error: msg}}
	}
	return res, sent
}

func (d *Dispatcher) send(stop, ctx context.Context, dl Delivery, rt runTemplate) (Result, bool) {
	if rt.err != nil {
		return d.unsendable(dl, rt.err), true
	}
	if stop.Err() != nil {
		return Result{}, false // no request yet: the delivery goes back
	}
	img, content := rt.p.Render(Values{
		WcID:       dl.WcID,
		CampaignID: dl.CampaignID,
		RunID:      dl.RunID,
		DeliveryID: dl.ID,
		Date:       dl.ScheduledFor.In(d.cfg.Location).Format(time.DateOnly),
	})
	if err := d.spacing.wait(stop, d.cfg.Clock, dl.WID); err != nil {
		return Result{}, false // stopping before its turn: the delivery goes back
	}
	a := d.sender.Send(ctx, Message{WID: dl.WID, WcID: dl.WcID, ImgURL: img, Content: content})
	if a.Receipt != nil && len(a.Receipt.Overflow) > 0 {
		d.log.Warn().Int64("delivery_id", dl.ID).Any("receipt_overflow", a.Receipt.Overflow).
			Msg("the API sent a receipt id that does not fit bigint; kept as text in deliveries.receipt_overflow")
	}
	return d.cfg.Retry.Decide(dl, a), true
}

// unsendable is the result of a delivery whose template is broken: it
// fails.
func (d *Dispatcher) unsendable(dl Delivery, err error) Result {
	return d.cfg.Retry.Decide(dl, Attempt{Outcome: OutcomeFailed, StartedAt: d.cfg.Clock.Now(), Error: err.Error()})
}
