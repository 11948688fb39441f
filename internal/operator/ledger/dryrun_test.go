package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

var may14Day = time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC)

func dryReport(epoch string, counts map[string]int64) *ledgerapi.DryRunReport {
	return &ledgerapi.DryRunReport{Epoch: epoch, PeriodStart: may14Day, Decisions: counts}
}

func TestTally_SumsEachPodsLatestTotalsOnce(t *testing.T) {
	tl := NewTally(proxyconfig.Daily, may14)
	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 3}), may14)
	tl.Report(pod(2), dryReport("e2", map[string]int64{"rate_limited": 1, "budget_exhausted": 2}), may14)
	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 3}), may14.Add(time.Second))
	assert.Equal(t, map[string]int64{"rate_limited": 4, "budget_exhausted": 2}, tl.Totals(), "a report sent again counts once")

	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 5}), may14.Add(2*time.Second))
	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 4}), may14.Add(3*time.Second))
	assert.Equal(t, map[string]int64{"rate_limited": 6, "budget_exhausted": 2}, tl.Totals(), "an overtaken report lowers nothing")
}

func TestTally_KeepsTheCountsOfARestartedSidecarAndOfAGonePod(t *testing.T) {
	tl := NewTally(proxyconfig.Daily, may14)
	tl.Report(pod(1), dryReport("e1", map[string]int64{"circuit_open": 7}), may14)
	tl.Report(pod(1), dryReport("e1-restarted", map[string]int64{"circuit_open": 2}), may14.Add(time.Second))
	assert.Equal(t, map[string]int64{"circuit_open": 9}, tl.Totals(), "the old process's 7 and the new one's 2")

	tl.Report(pod(2), dryReport("e2", map[string]int64{"circuit_open": 1}), may14)
	gone := func(uid, _ string) bool { return uid != pod(2).PodUID }
	assert.False(t, tl.Expire(may14.Add(10*time.Second), time.Minute, gone), "within its lease a pod is kept")
	assert.True(t, tl.Expire(may14.Add(2*time.Minute), time.Minute, gone))
	assert.Equal(t, map[string]int64{"circuit_open": 10}, tl.Totals(), "a gone pod's counts stay in the period")
	assert.Len(t, tl.Snapshot(may14.Add(2*time.Minute)).Reporters, 1, "the gone pod is forgotten; the live one, silent as it is, is kept")
}

func TestTally_StartsEachPeriodFromZeroAndIgnoresReportsOfAnother(t *testing.T) {
	tl := NewTally(proxyconfig.Daily, may14)
	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 3}), may14)

	tomorrow := may14Day.AddDate(0, 0, 1)
	late := &ledgerapi.DryRunReport{Epoch: "e1", PeriodStart: may14Day, Decisions: map[string]int64{"rate_limited": 9}}
	tl.Report(pod(1), late, tomorrow.Add(time.Minute))
	assert.Empty(t, tl.Totals(), "a new day: yesterday's report comes too late")
	assert.Equal(t, tomorrow, tl.PeriodStart())

	ahead := &ledgerapi.DryRunReport{Epoch: "e1", PeriodStart: tomorrow.AddDate(0, 0, 1), Decisions: map[string]int64{"rate_limited": 1}}
	tl.Report(pod(1), ahead, tomorrow.Add(2*time.Minute))
	assert.Empty(t, tl.Totals(), "a sidecar whose clock is a day ahead is heard when the ledger gets there")
}

func TestTally_IsRestoredFromTheStatusItWrote(t *testing.T) {
	tl := NewTally(proxyconfig.Daily, may14)
	tl.Report(pod(1), dryReport("e1", map[string]int64{"rate_limited": 3}), may14)
	tl.Report(pod(1), dryReport("e1b", map[string]int64{"rate_limited": 1}), may14)
	tl.Report(pod(2), dryReport("e2", map[string]int64{"model_not_allowed": 2}), may14)
	st := tl.Snapshot(may14)
	assert.Equal(t, map[string]int64{"rate_limited": 4, "model_not_allowed": 2}, st.Decisions)

	restored := RestoreTally(st, proxyconfig.Daily, may14.Add(time.Minute))
	assert.Equal(t, st.Decisions, restored.Totals())
	restored.Report(pod(1), dryReport("e1b", map[string]int64{"rate_limited": 1}), may14.Add(time.Minute))
	restored.Report(pod(2), dryReport("e2", map[string]int64{"model_not_allowed": 3}), may14.Add(time.Minute))
	assert.Equal(t, map[string]int64{"rate_limited": 4, "model_not_allowed": 3}, restored.Totals(),
		"the pods' reports after a restart count what is new, once")

	old := &v1alpha1.DryRunStatus{PeriodStart: metav1.NewTime(may14Day.AddDate(0, 0, -1)), Decisions: map[string]int64{"rate_limited": 50}}
	assert.Empty(t, RestoreTally(old, proxyconfig.Daily, may14).Totals(), "yesterday's status starts today at zero")
}

func TestCheckDryRunReport_RefusesWhatCannotBeMeant(t *testing.T) {
	cases := map[string]struct {
		report  ledgerapi.DryRunReport
		wantErr string
	}{
		"no epoch":          {report: ledgerapi.DryRunReport{PeriodStart: may14Day}, wantErr: "dryRun.epoch"},
		"no period":         {report: ledgerapi.DryRunReport{Epoch: "e"}, wantErr: "dryRun.periodStart"},
		"an unknown action": {report: ledgerapi.DryRunReport{Epoch: "e", PeriodStart: may14Day, Decisions: map[string]int64{"{pod=\"x\"}": 1}}, wantErr: "is not an action; the actions are model_not_allowed"},
		"a negative count":  {report: ledgerapi.DryRunReport{Epoch: "e", PeriodStart: may14Day, Decisions: map[string]int64{"rate_limited": -1}}, wantErr: "negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := CheckDryRunReport(&tc.report)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
	require.NoError(t, CheckDryRunReport(dryReport("e", map[string]int64{"circuit_open": 0})))
}

func TestDryRunCondition_SaysWhatEnforceWouldHaveDone(t *testing.T) {
	p := &v1alpha1.LLMPolicy{ObjectMeta: metav1.ObjectMeta{Generation: 3}}
	c := dryRunCondition(p, map[string]int64{"rate_limited": 12, "budget_exhausted": 3}, may14Day, proxyconfig.Daily)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Equal(t, v1alpha1.ReasonWouldHaveActed, c.Reason)
	assert.Equal(t, "DryRun: Enforce would have acted on 15 request(s) in the Daily period from 2026-05-14: budget_exhausted 3, rate_limited 12; nothing was refused or downgraded. Set spec.mode: Enforce to enforce the policy", c.Message)
	assert.Equal(t, int64(3), c.ObservedGeneration)

	c = dryRunCondition(p, nil, may14Day, proxyconfig.Daily)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, v1alpha1.ReasonNothingToDo, c.Reason)
}

func TestTally_APodBeyondWhatTheStatusCanListIsRefused(t *testing.T) {
	tl := NewTally(proxyconfig.Daily, may14)
	for i := range v1alpha1.MaxReporters {
		require.NoError(t, tl.Report(pod(i), dryReport("e", map[string]int64{"rate_limited": 1}), may14))
	}
	version := tl.Version()
	err := tl.Report(pod(v1alpha1.MaxReporters), dryReport("e", map[string]int64{"rate_limited": 1}), may14)
	require.ErrorAs(t, err, &ErrFull{})
	assert.Equal(t, version, tl.Version())
	assert.Equal(t, map[string]int64{"rate_limited": v1alpha1.MaxReporters}, tl.Totals(), "its counts wait for it to be taken in")
	assert.Len(t, tl.Snapshot(may14).Reporters, v1alpha1.MaxReporters)
	require.NoError(t, tl.Report(pod(0), dryReport("e", map[string]int64{"rate_limited": 2}), may14), "a pod it follows goes on")
}
