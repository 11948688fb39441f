package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
	"tollgate.dev/tollgate/pkg/budget"
)

// ledgerSource is what the sidecar's "policy loaded" line names as its
// file when the budget ledger delivered the bundle.
const ledgerSource = "the budget ledger"

// hotReload applies the policy with its budget raised and follows the edit
// to the sidecars: the operator re-renders the bundle, each running
// sidecar gets it from the budget ledger, which it long-polls for the
// namespace's bundle, without waiting for the kubelet to update the
// mounted ConfigMap, and after the ledger's next sync the requests the
// budget refused pass again.
func (d *demo) hotReload(ctx context.Context) (string, error) {
	d.say.command(`sed 's/%s/%s/' %s/policy.yaml | kubectl apply -f -`, budgetLine, raisedBudgetLine, samplesDir)
	out, err := d.kubectl(ctx, d.manifests.raisedPolicy, "apply", "-f", "-")
	if err != nil {
		return "", err
	}
	applied := time.Now()
	d.say.block(out)
	p, err := d.waitRendered(ctx, 2)
	if err != nil {
		return "", err
	}
	var hash string
	if err := waitFor(ctx, "the bundle of generation 2", func(ctx context.Context) error {
		cm, b, err := d.bundle(ctx)
		switch {
		case err != nil:
			return err
		case cm == nil || b == nil:
			return errors.New("ConfigMap " + inject.ConfigMapName + " is gone")
		case len(b.Policies) != 1 || b.Policies[0].Generation != p.Generation:
			return fmt.Errorf("the bundle holds %d policies, not generation %d of %s", len(b.Policies), p.Generation, policyName)
		}
		hash = cm.Annotations[controller.BundleHashAnnotation]
		return nil
	}); err != nil {
		return "", err
	}
	if hash != "" && hash == d.bundleHash {
		return "", fmt.Errorf("the bundle's hash annotation did not change (%s) though the policy did", short(hash))
	}
	d.say.say("operator: Ready at generation %d, bundle re-rendered (hash %s → %s)", p.Generation, short(d.bundleHash), short(hash))

	// The mounted files stay as they were until the kubelet's sync below:
	// a sidecar that enforces the new generation got it from the ledger.
	var took []string
	loadedAt := map[*runningPod]time.Time{}
	for _, rp := range d.pods {
		pid := rp.sidecar.Pid()
		var limit string
		if err := waitFor(ctx, rp.name+"'s sidecar to load generation 2", func(ctx context.Context) error {
			if err := rp.sidecar.Err(); err != nil {
				return permanent(err)
			}
			c, err := rp.config(ctx)
			switch {
			case err != nil:
				return err
			case c.Policy == nil || c.Policy.Generation != p.Generation:
				return errors.New("it still enforces the previous generation")
			case c.Policy.Budget == nil:
				return permanent(errors.New("the reloaded policy has no budget"))
			}
			limit = c.Policy.Budget.Limit.String()
			return nil
		}); err != nil {
			return "", err
		}
		source, at, ok := rp.policyLoaded(p.Generation)
		if !ok {
			return "", fmt.Errorf("%s's sidecar enforces generation %d but logged no \"policy loaded\" line for it", rp.name, p.Generation)
		}
		if source != ledgerSource {
			return "", fmt.Errorf("%s's sidecar loaded generation %d from %s, not from the budget ledger, before the kubelet updated the file", rp.name, p.Generation, source)
		}
		loadedAt[rp] = at
		after, long := sinceApply(at, applied)
		took = append(took, after)
		d.say.say("%s's sidecar (pid %d, not restarted): generation %d from %s, %s (its log line's time); budget limit %s USD",
			rp.name, pid, p.Generation, source, long, limit)
	}

	// The kubelet's periodic sync of the ConfigMap volumes, done now
	// rather than within a minute or so: the sidecars already run what it
	// writes.
	configMap := func(name string) (*corev1.ConfigMap, error) { return d.configMap(ctx, name) }
	for _, rp := range d.pods {
		if err := rp.container.refreshConfigMaps(rp.view.pod, rp.view.sidecar, configMap); err != nil {
			return "", err
		}
	}
	d.say.say("kubelet (later, in a cluster): the same bundle written to the pods' files, ..data swapped with a rename; nothing left to reload")

	// A sidecar holds the ledger's last word on the budget, Exhausted,
	// until its next sync tells it the state under the new limit.
	for _, rp := range d.pods {
		var state string
		stale := false
		if err := waitFor(ctx, rp.name+"'s sidecar to learn from the ledger that the budget is no longer exhausted", func(ctx context.Context) error {
			c, err := rp.config(ctx)
			if err != nil {
				return err
			}
			if c.Budget == nil || c.Budget.State == string(budget.StateExhausted) {
				stale = true
				return fmt.Errorf("its ledger view is %+v", c.Budget)
			}
			state = c.Budget.State
			return nil
		}); err != nil {
			return "", err
		}
		if stale {
			d.say.say("%s's sidecar: budget state Exhausted → %s at its next sync with the ledger, %s after it loaded generation %d",
				rp.name, state, time.Since(loadedAt[rp]).Round(10*time.Millisecond), p.Generation)
		} else {
			d.say.say("%s's sidecar: budget state %s, from its last sync with the ledger", rp.name, state)
		}
	}
	for _, rp := range d.pods {
		a := rp.app.chat(ctx, primaryModel)
		d.say.app(rp.name, "%s", a)
		if err := a.ok(primaryModel); err != nil {
			return "", fmt.Errorf("after the reload, via %s: %w", rp.name, err)
		}
	}
	return fmt.Sprintf("gen. %d via the ledger %s after apply; same pids; HTTP 200 ×%d", p.Generation, strings.Join(took, "/"), len(d.pods)), nil
}

// sinceApply says, shortly and at length, when at was relative to applied,
// the moment kubectl apply returned: the ledger may deliver the edit
// before kubectl has exited.
func sinceApply(at, applied time.Time) (short, long string) {
	if d := at.Sub(applied); d >= 0 {
		short = d.Round(time.Millisecond).String()
		return short, short + " after kubectl apply returned"
	}
	return "<0s", "before kubectl apply had returned"
}
