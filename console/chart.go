package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/broadcaster/broadcaster/campaign"
)

// Size of the sends-per-second chart, in SVG units.
const (
	chartWidth  = 600
	chartHeight = 100
)

// rateChart draws attempts per second as inline SVG bars, one per second
// from the first bucket to the last (gaps drawn empty), so the chart needs
// no script. Its times are in loc, as the page's tables show them. Only
// numbers and formatted times go into it.
func rateChart(buckets []campaign.RateBucket, loc *time.Location) template.HTML {
	clock := func(t time.Time) string { return t.In(loc).Format("15:04:05") }
	if len(buckets) == 0 {
		return ""
	}
	first, last := buckets[0].At, buckets[len(buckets)-1].At
	seconds := int(last.Sub(first).Seconds()) + 1
	peak := 1
	for _, b := range buckets {
		peak = max(peak, b.Count)
	}
	barW := float64(chartWidth) / float64(seconds)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="attempts per second, peak %d">`,
		chartWidth, chartHeight+14, peak)
	for _, b := range buckets {
		x := float64(int(b.At.Sub(first).Seconds())) * barW
		h := float64(b.Count) / float64(peak) * chartHeight
		fmt.Fprintf(&sb, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f"><title>%s: %d</title></rect>`,
			x, chartHeight-h, max(barW-1, 0.5), h, clock(b.At), b.Count)
	}
	fmt.Fprintf(&sb, `<text x="0" y="%d">%s</text><text x="%d" y="%d" text-anchor="end">%s · ≤ %d/s</text></svg>`,
		chartHeight+12, clock(first), chartWidth, chartHeight+12, clock(last), peak)
	return template.HTML(sb.String()) // #nosec: built from numbers and times only
}
