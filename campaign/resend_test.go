package campaign_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

func TestCheckResend(t *testing.T) {
	t.Parallel()
	f, u, s := campaign.DeliveryFailed, campaign.DeliveryUnknown, campaign.DeliverySent
	tests := []struct {
		run      int64
		statuses []campaign.DeliveryStatus
		want     []campaign.DeliveryStatus // nil: refused
	}{
		{1, []campaign.DeliveryStatus{u, f, u}, []campaign.DeliveryStatus{f, u}},
		{1, []campaign.DeliveryStatus{f}, []campaign.DeliveryStatus{f}},
		{1, []campaign.DeliveryStatus{f, s}, nil},
		{1, []campaign.DeliveryStatus{campaign.DeliverySkipped}, nil},
		{1, []campaign.DeliveryStatus{campaign.DeliveryPending}, nil},
		{1, nil, nil},
		{0, []campaign.DeliveryStatus{f}, nil},
	}
	for _, tt := range tests {
		got, err := campaign.CheckResend(campaign.ResendRequest{RunID: tt.run, Statuses: tt.statuses, Now: time.Unix(1, 0)})
		var refusal *campaign.RefusedError
		switch {
		case tt.want == nil && !errors.As(err, &refusal):
			t.Errorf("run %d %v: %v, %v; want a refusal", tt.run, tt.statuses, got, err)
		case tt.want != nil && (err != nil || !slices.Equal(got, tt.want)):
			t.Errorf("run %d %v: %v, %v; want %v", tt.run, tt.statuses, got, err, tt.want)
		}
	}
	var refusal *campaign.RefusedError
	if _, err := campaign.CheckResend(campaign.ResendRequest{RunID: 1, Statuses: campaign.ResendStatuses()}); !errors.As(err, &refusal) {
		t.Errorf("a request without its time: %v, want a refusal", err)
	}
}

func TestCheckResendSource(t *testing.T) {
	t.Parallel()
	for _, run := range campaign.RunStatuses() {
		for _, c := range []campaign.Status{campaign.StatusActive, campaign.StatusPaused, campaign.StatusCancelled,
			campaign.StatusCompleted, campaign.StatusInvalid} {
			ok := (run == campaign.RunCompleted || run == campaign.RunCancelled) &&
				(c == campaign.StatusActive || c == campaign.StatusCompleted)
			err := campaign.CheckResendSource(7, run, c)
			var refusal *campaign.RefusedError
			if ok != (err == nil) || (err != nil && !errors.As(err, &refusal)) {
				t.Errorf("run %s of a campaign %s: %v, want allowed %v", run, c, err, ok)
			}
		}
	}
}

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	all := []campaign.Status{campaign.StatusActive, campaign.StatusPaused, campaign.StatusCancelled,
		campaign.StatusCompleted, campaign.StatusInvalid}
	allowed := map[[2]campaign.Status]bool{
		{campaign.StatusActive, campaign.StatusPaused}:    true,
		{campaign.StatusPaused, campaign.StatusActive}:    true,
		{campaign.StatusActive, campaign.StatusCancelled}: true,
		{campaign.StatusPaused, campaign.StatusCancelled}: true,
		// a completed campaign sends while a resend of it is open
		{campaign.StatusCompleted, campaign.StatusPaused}:    true,
		{campaign.StatusCompleted, campaign.StatusCancelled}: true,
	}
	for _, from := range all {
		for _, to := range all {
			err := campaign.CheckTransition(3, from, to)
			var refusal *campaign.RefusedError
			if allowed[[2]campaign.Status{from, to}] != (err == nil) || (err != nil && !errors.As(err, &refusal)) {
				t.Errorf("%s → %s: %v", from, to, err)
			}
		}
	}
}
