package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tollgate.dev/tollgate/internal/operator/controller"
	"tollgate.dev/tollgate/internal/operator/inject"
)

// hotReload applies the policy with its budget raised and follows the edit
// to the sidecar: the operator re-renders the bundle, the kubelet (the
// demo) swaps the ConfigMap's files, and the running sidecar reloads them,
// after which the requests the budget refused pass again.
func (d *demo) hotReload(ctx context.Context) (string, error) {
	pid := d.sidecar.Pid()
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

	// The kubelet's periodic sync of a ConfigMap volume, done now rather
	// than within a minute or so.
	configMap := func(name string) (*corev1.ConfigMap, error) { return d.configMap(ctx, name) }
	if err := d.container.refreshConfigMaps(d.pod.pod, d.pod.sidecar, configMap); err != nil {
		return "", err
	}
	d.say.say("kubelet: the new bundle written to a new ..<timestamp> directory, ..data swapped to it with a rename")

	var limit string
	if err := waitFor(ctx, "the sidecar to load generation 2", func(ctx context.Context) error {
		if err := d.sidecar.Err(); err != nil {
			return permanent(err)
		}
		c, err := d.sidecarConfig(ctx)
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
	reloaded := time.Since(applied)
	d.say.say("sidecar (pid %d, not restarted): enforcing generation %d, budget limit %s USD, %s after kubectl apply", pid, p.Generation, limit, reloaded.Round(10*time.Millisecond))

	a := d.app.chat(ctx, primaryModel)
	d.say.block(a.String())
	if err := a.ok(primaryModel); err != nil {
		return "", fmt.Errorf("after the reload: %w", err)
	}
	return fmt.Sprintf("gen. %d live %s after apply, same process; HTTP 200", p.Generation, reloaded.Round(10*time.Millisecond)), nil
}
