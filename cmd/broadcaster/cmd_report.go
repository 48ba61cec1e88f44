package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/broadcaster/broadcaster/db"
)

// reportFormats are the --format values.
var reportFormats = []string{"table", "csv", "json"}

func runReport(ctx context.Context, a *app, args []string) error {
	fs := a.flags("report", "[--campaign ID] [--run ID] [--format table|csv|json]")
	campaignID := fs.Int64("campaign", 0, "only the runs of this campaign `ID`")
	runID := fs.Int64("run", 0, "only this run `ID`, followed by one row per delivery")
	format := fs.String("format", "table", "output `format`: table, csv or json")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if !contains(reportFormats, *format) {
		return fmt.Errorf("%w: --format must be one of %s, not %q", errUsage, strings.Join(reportFormats, ", "), *format)
	}
	store, closeDB, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer closeDB()
	runs, err := store.ReportRuns(ctx, optional(*campaignID), optional(*runID))
	if err != nil {
		return err
	}
	var deliveries *db.Table
	if *runID != 0 {
		t, err := store.ReportDeliveries(ctx, *runID)
		if err != nil {
			return err
		}
		deliveries = &t
	}
	r := reporter{w: a.stdout, loc: a.cfg.Scheduler.Location}
	return r.write(*format, runs, deliveries)
}

func optional(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// reporter prints report tables. In CSV, which holds one table, a report
// for one run is its deliveries; in JSON it is an object with both.
type reporter struct {
	w   io.Writer
	loc *time.Location
}

func (r reporter) write(format string, runs db.Table, deliveries *db.Table) error {
	switch format {
	case "csv":
		if deliveries != nil {
			return r.csv(*deliveries)
		}
		return r.csv(runs)
	case "json":
		out := map[string]any{"runs": r.objects(runs)}
		if deliveries != nil {
			out["deliveries"] = r.objects(*deliveries)
		}
		enc := json.NewEncoder(r.w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	default:
		if err := r.table(runs); err != nil {
			return err
		}
		if deliveries != nil {
			fmt.Fprintln(r.w)
			return r.table(*deliveries)
		}
		return nil
	}
}

func (r reporter) table(t db.Table) error {
	tw := tabwriter.NewWriter(r.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(t.Columns, "\t"))
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(r.text(v))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if len(t.Rows) == 0 {
		fmt.Fprintln(tw, "(no rows)")
	}
	return tw.Flush()
}

func (r reporter) csv(t db.Table) error {
	cw := csv.NewWriter(r.w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	for _, row := range t.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = r.text(v)
		}
		if err := cw.Write(cells); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// objects turns rows into JSON objects keyed by column. int64 values stay
// integers, so ids above 2^53 (newMsgId) are written exactly.
func (r reporter) objects(t db.Table) []map[string]any {
	out := make([]map[string]any, 0, len(t.Rows))
	for _, row := range t.Rows {
		obj := make(map[string]any, len(row))
		for i, v := range row {
			if tm, ok := v.(time.Time); ok {
				v = tm.In(r.loc).Format(time.RFC3339Nano)
			}
			obj[t.Columns[i]] = v
		}
		out = append(out, obj)
	}
	return out
}

// text renders one value for a table or CSV cell.
func (r reporter) text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.In(r.loc).Format(time.RFC3339)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
