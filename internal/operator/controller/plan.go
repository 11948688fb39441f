package controller

import (
	"fmt"
	"sort"
	"strings"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/translate"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// maxNamedPods caps how many pod names a Conflict message lists, and
// maxNamedPolicies how many older policies: a condition's message must stay
// within the API's 32 KiB however many policies overlap.
const (
	maxNamedPods     = 5
	maxNamedPolicies = 10
)

// plan is what one namespace should look like: the bundle its sidecars
// read and what each policy's status should say. It is a pure function of
// the namespace's policies and pod labels (see makePlan).
type plan struct {
	// Bundle holds the valid policies, in precedence order, as
	// translate.Bundle decides them for the webhook too.
	Bundle proxyconfig.Bundle
	// Policies is keyed by policy name.
	Policies map[string]*verdict
	// TooLarge is set when Bundle could not be written: it says why, for
	// every policy's status.
	TooLarge error
}

// verdict is the part of a policy's status the plan decides.
type verdict struct {
	// Invalid is set when the policy could not be translated; it is left
	// out of the bundle.
	Invalid error
	// MatchedPods counts the pods the policy applies to: those it selects
	// and no older policy does.
	MatchedPods int32
	// Overlaps maps the name of an older policy to the pods both select,
	// which follow that older policy.
	Overlaps map[string][]string
}

// podLabels is a pod's name and labels: all the plan needs of a pod.
type podLabels struct {
	Name   string
	Labels map[string]string
}

// makePlan decides the bundle of a namespace and what each policy applies
// to. When several policies select a pod the oldest applies (then the
// first by name); the others are told about the overlap.
func makePlan(namespace string, policies []v1alpha1.LLMPolicy, pods []podLabels) plan {
	bundle, invalid := translate.Bundle(namespace, policies)
	out := plan{Bundle: bundle, Policies: map[string]*verdict{}}
	for _, p := range policies {
		out.Policies[p.Name] = &verdict{Invalid: invalid[p.Name]}
	}

	for _, pod := range pods {
		winner := ""
		for _, p := range out.Bundle.Policies {
			if !p.Selector.Matches(pod.Labels) {
				continue
			}
			if winner == "" {
				winner = p.Name
				out.Policies[p.Name].MatchedPods++
				continue
			}
			v := out.Policies[p.Name]
			if v.Overlaps == nil {
				v.Overlaps = map[string][]string{}
			}
			v.Overlaps[winner] = append(v.Overlaps[winner], pod.Name)
		}
	}
	return out
}

// conflictMessage describes a policy's overlaps for its Conflict condition:
// which older policies win for which pods, and what to do about it.
func (v *verdict) conflictMessage() string {
	older := make([]string, 0, len(v.Overlaps))
	for name := range v.Overlaps {
		older = append(older, name)
	}
	sort.Strings(older)
	rest := 0
	if len(older) > maxNamedPolicies {
		older, rest = older[:maxNamedPolicies], len(older)-maxNamedPolicies
	}
	parts := make([]string, 0, len(older)+1)
	for _, name := range older {
		pods := append([]string(nil), v.Overlaps[name]...)
		sort.Strings(pods)
		listed := pods
		if len(listed) > maxNamedPods {
			listed = listed[:maxNamedPods]
		}
		more := ""
		if len(pods) > len(listed) {
			more = fmt.Sprintf(" and %d more", len(pods)-len(listed))
		}
		parts = append(parts, fmt.Sprintf("%d pod(s) (%s%s) also selected by older policy %s, which applies to them", len(pods), strings.Join(listed, ", "), more, name))
	}
	if rest > 0 {
		parts = append(parts, fmt.Sprintf("and %d more older policies", rest))
	}
	return strings.Join(parts, "; ") + "; make the podSelectors disjoint to apply this policy to them"
}
