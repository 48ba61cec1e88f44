package bench

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Row is one line of the table: a figure of a scenario, its target and
// whether it holds.
type Row struct {
	Scenario string
	Figure   string
	Target   string
	// Holds is "yes", "no", "—" for a figure without a target, or "error"
	// when the scenario could not be measured.
	Holds string
}

// Verdicts of Row.Holds.
const (
	holdsYes   = "yes"
	holdsNo    = "no"
	holdsNone  = "—"
	holdsError = "error"
)

// verdict is holdsYes when ok.
func verdict(ok bool) string {
	if ok {
		return holdsYes
	}
	return holdsNo
}

// info is a row without a target.
func info(scenario, figure string) Row {
	return Row{Scenario: scenario, Figure: figure, Target: holdsNone, Holds: holdsNone}
}

// WriteTable prints rows as one Markdown table, ready for an issue's
// closing note.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintln(tw, "| scenario\t| figure\t| target\t| holds\t|")
	fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|")
	for _, r := range rows {
		fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t|\n", cell(r.Scenario), cell(r.Figure), cell(r.Target), cell(r.Holds))
	}
	return tw.Flush()
}

// cell keeps a value on one line and out of the table's syntax.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", "/")
	return strings.Join(strings.Fields(s), " ")
}

// count writes n with thousands separators: 1,000,000.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// rateOf writes a rate: 3,561/s.
func rateOf(r float64) string { return count(int64(math.Round(r))) + "/s" }

// micros writes a duration in whole microseconds: 365 µs.
func micros(d time.Duration) string { return count(d.Microseconds()) + " µs" }

// seconds writes a duration in seconds with two decimals: 4.21 s.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + " s" }

// mib writes bytes in MiB with one decimal.
func mib(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + " MiB" }

// ratio writes a ratio with two decimals.
func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// percent writes a fraction as a whole percentage.
func percent(f float64) string { return strconv.FormatFloat(100*f, 'f', 0, 64) + "%" }
