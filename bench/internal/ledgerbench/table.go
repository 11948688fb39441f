package ledgerbench

import (
	"fmt"
	"sort"
	"strings"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/report"
)

// Row is one line of the summary table: a value per scenario, nil where it
// was not measured, in one of report's units (a report.report.UnitBound value is
// the upper bound of a histogram bucket; a negative one, -b, says beyond
// the last bound, b).
type Row struct {
	Measurement string     `json:"measurement"`
	Unit        string     `json:"unit"`
	Values      []*float64 `json:"values"`
}

// maxWrites is the most status writes a policy may have in a window of
// seconds with a commit every commit seconds: one per commit, and one
// more, as a window may start just before a commit and end just after one.
func maxWrites(seconds, commit float64) int {
	return int(seconds/commit) + 1
}

// Finish derives the table, the target checks and the notes from the
// scenarios; notes from the run are kept.
func (r *Report) Finish() {
	r.Schema = Schema
	r.Table = r.buildTable()
	r.Targets = r.checkTargets()
	r.Notes = append(r.Notes, r.notes()...)
}

func (r *Report) buildTable() []Row {
	each := func(measurement, unit string, f func(s Scenario) (float64, bool)) Row {
		row := Row{Measurement: measurement, Unit: unit}
		for _, s := range r.Scenarios {
			if v, ok := f(s); ok {
				row.Values = append(row.Values, &v)
			} else {
				row.Values = append(row.Values, nil)
			}
		}
		return row
	}
	always := func(f func(s Scenario) float64) func(Scenario) (float64, bool) {
		return func(s Scenario) (float64, bool) { return f(s), true }
	}
	mib := func(f func(m fleet.Memory) int64) func(Scenario) (float64, bool) {
		return func(s Scenario) (float64, bool) {
			if s.Operator.Memory == nil {
				return 0, false
			}
			return fleet.MiB(f(*s.Operator.Memory)), true
		}
	}
	return []Row{
		each("syncs per second, all sidecars", report.UnitPerSec, always(func(s Scenario) float64 { return s.SyncsPerSecond })),
		each("sync latency p50 (sidecar's view)", report.UnitMillis, always(func(s Scenario) float64 { return s.Latency.P50 })),
		each("sync latency p99 (sidecar's view)", report.UnitMillis, always(func(s Scenario) float64 { return s.Latency.P99 })),
		each("sync latency max (sidecar's view)", report.UnitMillis, always(func(s Scenario) float64 { return s.Latency.Max })),
		each("ledger: commit wait, mean", report.UnitMillis, always(func(s Scenario) float64 { return s.Server.MeanMs - s.Server.ProcessingMeanMs })),
		each("ledger: time per sync without the commit wait, mean", report.UnitMillis, always(func(s Scenario) float64 { return s.Server.ProcessingMeanMs })),
		each("ledger: time per sync without the commit wait, p99", report.UnitBound, func(s Scenario) (float64, bool) {
			if s.Server.ProcessingP99Beyond {
				return -s.Server.ProcessingP99BoundMs, true
			}
			return s.Server.ProcessingP99BoundMs, s.Server.Syncs > 0
		}),
		each("operator CPU", report.UnitCores, always(func(s Scenario) float64 { return s.Operator.Cores })),
		each("operator CPU per 1000 syncs", report.UnitSeconds, always(func(s Scenario) float64 { return s.Operator.CPUSecondsPer1000Syncs })),
		each("operator VmRSS (peak sampled)", report.UnitMiB, mib(func(m fleet.Memory) int64 { return m.RSS })),
		each("operator VmHWM", report.UnitMiB, mib(func(m fleet.Memory) int64 { return m.HWM })),
		each("kube-apiserver CPU", report.UnitCores, always(func(s Scenario) float64 { return s.APIServer.Cores })),
		each("etcd CPU", report.UnitCores, always(func(s Scenario) float64 { return s.Etcd.Cores })),
		each("the simulated sidecars' CPU (this process)", report.UnitCores, always(func(s Scenario) float64 { return s.Sidecars.Cores })),
		each("operator's TokenReviews (POST) per second", report.UnitPerSec, always(func(s Scenario) float64 { return s.Server.APIRequestsPerSecond["POST"] })),
		each("status writes per second, all policies", report.UnitPerSec, always(func(s Scenario) float64 { return s.StatusWrites.PerSecond })),
		each("status writes per second, per policy", report.UnitPerSec, always(func(s Scenario) float64 { return s.StatusWrites.PerPolicyPerSecond })),
		each("status of the largest policy (JSON)", report.UnitKiB, always(func(s Scenario) float64 { return float64(s.StatusBytes) / 1024 })),
		each("that policy's object, managedFields included", report.UnitKiB, always(func(s Scenario) float64 { return float64(s.ObjectBytes) / 1024 })),
		each("status.budget.spent = what the sidecars reported", report.UnitYesNo, always(func(s Scenario) float64 {
			if s.Check.Match {
				return 1
			}
			return 0
		})),
	}
}

// checkTargets checks the bound on status writes and the ledger's
// exactness in each scenario.
func (r *Report) checkTargets() []report.Target {
	var out []report.Target
	for _, s := range r.Scenarios {
		bound := maxWrites(s.Seconds, r.Settings.Commit)
		out = append(out, report.Target{
			Name: fmt.Sprintf("%s: status writes per policy at most one per commit interval (%gs)", s.Name, r.Settings.Commit),
			Value: fmt.Sprintf("%.2f/s per policy: %d writes of %d %s in %.1f s, at most %d of one (bound %d)",
				s.StatusWrites.PerPolicyPerSecond, s.StatusWrites.Watched, s.Policies, plural(s.Policies, "policy", "policies"), s.Seconds, s.StatusWrites.MostOfAPolicy, bound),
			Met: s.StatusWrites.MostOfAPolicy <= bound,
		})
		var parts []string
		for _, p := range s.Check.Policies {
			parts = append(parts, fmt.Sprintf("%s %s/%s USD", p.Policy, p.Spent, p.Reported))
		}
		value := strings.Join(parts, ", ")
		if len(parts) > 3 {
			value = strings.Join(parts[:3], ", ") + fmt.Sprintf(" and %d more", len(parts)-3)
		}
		out = append(out, report.Target{
			Name:  fmt.Sprintf("%s: status.budget.spent and requests equal what the sidecars reported", s.Name),
			Value: "status/reported: " + value,
			Met:   s.Check.Match,
		})
	}
	return out
}

// notes points out failed syncs, which the percentiles leave out.
func (r *Report) notes() []string {
	var out []string
	for _, s := range r.Scenarios {
		codes := make([]string, 0, len(s.Results))
		for code := range s.Results {
			if code != resultOK {
				codes = append(codes, code)
			}
		}
		sort.Strings(codes)
		for _, code := range codes {
			out = append(out, fmt.Sprintf("%s: %d of %d syncs got %s", s.Name, s.Results[code], s.Syncs, code))
		}
	}
	return out
}

// resultOK is the result of an answered sync in Scenario.Results.
const resultOK = "ok"
