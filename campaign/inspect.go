package campaign

import "time"

// The read models below are what an operator inspects while broadcasts go
// out (the console's pages): runs, deliveries and their attempts, accounts,
// the global pause. They hold no behaviour beyond small derived figures, so
// any adapter (a web page, JSON, a report) shows the same numbers.

// PageSize is the most rows one page of a listing returns; every listing is
// keyset-paginated, so that no page reads more than it shows.
const PageSize = 50

// RunFilter selects runs, newest first. Before is the keyset: only runs
// with a smaller id (0: from the newest).
type RunFilter struct {
	CampaignID int64
	Status     RunStatus
	Before     int64
	Limit      int
}

// DeliveryFilter selects one run's deliveries in id order. After is the
// keyset: only deliveries with a larger id.
type DeliveryFilter struct {
	RunID  int64
	Status DeliveryStatus
	Code   string
	WcID   string
	After  int64
	Limit  int
}

// DeliveryView is one delivery as support reads it.
type DeliveryView struct {
	ID, RunID, CampaignID int64
	CampaignName          string
	WcID                  string
	Status                DeliveryStatus
	Attempts              int
	LastCode, LastError   string
	MsgID, NewMsgID       int64
	SentAt                time.Time // zero until sent
	UpdatedAt             time.Time
}

// AttemptView is one sendApplet call with the API's raw answer.
type AttemptView struct {
	DeliveryID int64
	Attempt    int
	StartedAt  time.Time
	DurationMS int
	HTTPStatus int // 0 when no answer came
	Code       string
	Outcome    string
	Error      string
	Response   string
}

// FailureGroup counts a run's failed and unknown deliveries by their last
// API code and error, the first question after a bad night.
type FailureGroup struct {
	Status DeliveryStatus
	Code   string
	Error  string
	Count  int
}

// RateBucket is how many attempts started in one second of a run.
type RateBucket struct {
	At    time.Time
	Count int
}

// LiveRun is a run in progress with how fast it goes now.
type LiveRun struct {
	RunProgress
	// SentLastMinute counts the deliveries that reached a final status in
	// the minute before the reading.
	SentLastMinute int
	// WindowSeconds is how much of that minute the run was sending: a
	// minute, or less for a run that started within it.
	WindowSeconds float64
}

// RateWindow is the span recent rates are measured over.
const RateWindow = time.Minute

// NewLiveRun measures r's rate at now from sentLastMinute.
func NewLiveRun(r RunProgress, sentLastMinute int, now time.Time) LiveRun {
	window := RateWindow
	if !r.StartedAt.IsZero() && now.Sub(r.StartedAt) < window {
		window = max(now.Sub(r.StartedAt), time.Second)
	}
	return LiveRun{RunProgress: r, SentLastMinute: sentLastMinute, WindowSeconds: window.Seconds()}
}

// RatePerSecond is the recent send rate, over the last minute (or since the
// run started, if that is less).
func (r LiveRun) RatePerSecond() float64 {
	if r.WindowSeconds <= 0 {
		return 0
	}
	return float64(r.SentLastMinute) / r.WindowSeconds
}

// ETA is how long the pending deliveries take at the recent rate; ok is
// false when nothing was sent lately (no estimate can be made).
func (r LiveRun) ETA() (time.Duration, bool) {
	rate := r.RatePerSecond()
	if rate <= 0 || r.Pending == 0 {
		return 0, r.Pending == 0
	}
	return time.Duration(float64(r.Pending) / rate * float64(time.Second)).Round(time.Second), true
}

// AccountState says whether an account may send now, and if not, why.
type AccountState string

// Account states, from most to least severe.
const (
	AccountBroken  AccountState = "broken"  // breaker open: too many failures in a row
	AccountResting AccountState = "resting" // paused by hand (sending_accounts.paused_until)
	AccountPaced   AccountState = "paced"   // waiting for its rate limit or jitter
	AccountReady   AccountState = "ready"
)

// AccountView is one sending account's pacing and breaker state.
type AccountView struct {
	WID                 string
	State               AccountState
	ReadyAt             time.Time // when it may send again; zero when ready
	ConsecutiveFailures int
	LastFailureAt       time.Time
	SentToday           int // deliveries sent since midnight in the scheduler's zone; 0 when read WaitingOnly
}

// OutageView is the global pause of sending for a failing API (SPEC §6);
// Since is zero when there is none.
type OutageView struct {
	Since, PausedUntil time.Time
}

// Active reports whether sending is paused globally.
func (o OutageView) Active() bool { return !o.Since.IsZero() }

// CampaignView is a campaign as an operator browses it.
type CampaignView struct {
	CampaignRow
	Error     string
	UpdatedAt time.Time
	// Audience is how many recipients a run created now would have:
	// inline ∪ list members, de-duplicated, minus suppressions.
	Audience int
}

// AccountsQuery says how accounts are judged: the pacing settings, the time
// of the reading and the start of "today" for their send counts.
type AccountsQuery struct {
	Now, Since time.Time
	Pacing     Pacing
	// WaitingOnly asks for the accounts that may not send at Now, without
	// their send counts (SentToday 0): the Now page's view, cheap enough to
	// poll.
	WaitingOnly bool
}

// NextFirings returns up to n firing times of c after now, in the zone its
// schedule is evaluated in (loc, scheduler.timezone, unless the schedule
// names its own with CRON_TZ=), and that zone. A one-shot campaign fires
// once, at start_at, if that is still to come.
func NextFirings(c Campaign, loc *time.Location, now time.Time, n int) ([]time.Time, *time.Location, error) {
	if c.Schedule == "" {
		if c.StartAt.After(now) {
			return []time.Time{c.StartAt.In(loc)}, loc, nil
		}
		return nil, loc, nil
	}
	s, err := ParseSchedule(c.Schedule, loc)
	if err != nil {
		return nil, loc, err
	}
	var out []time.Time
	t := now
	if c.StartAt.After(t) {
		t = c.StartAt.Add(-time.Nanosecond)
	}
	for len(out) < n {
		t = s.Next(c.StartAt, t)
		if t.IsZero() || (c.EndAt != nil && t.After(*c.EndAt)) {
			break
		}
		out = append(out, t.In(s.Location()))
	}
	return out, s.Location(), nil
}
