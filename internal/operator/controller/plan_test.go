package controller

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
)

func policy(name string, age time.Duration, selector map[string]string) v1alpha1.LLMPolicy {
	p := v1alpha1.LLMPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "team-a", CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-age))},
		Spec: v1alpha1.LLMPolicySpec{
			Providers: []v1alpha1.Provider{{Name: "openai", Type: v1alpha1.ProviderOpenAI, BaseURL: "https://api.openai.com"}},
		},
	}
	if selector != nil {
		p.Spec.PodSelector = v1alpha1.MatchLabels(selector)
	}
	validation.Default(&p)
	return p
}

func TestMakePlan(t *testing.T) {
	pods := []podLabels{
		{Name: "chat-1", Labels: map[string]string{"app": "chat"}},
		{Name: "chat-2", Labels: map[string]string{"app": "chat"}},
		{Name: "batch-1", Labels: map[string]string{"app": "batch"}},
	}
	tests := map[string]struct {
		policies     []v1alpha1.LLMPolicy
		wantOrder    []string
		wantMatched  map[string]int32
		wantOverlaps map[string]map[string][]string
		wantInvalid  []string
	}{
		"a lone policy without selector applies to every pod": {
			policies:    []v1alpha1.LLMPolicy{policy("all", time.Hour, nil)},
			wantOrder:   []string{"all"},
			wantMatched: map[string]int32{"all": 3},
		},
		"disjoint selectors split the pods": {
			policies:    []v1alpha1.LLMPolicy{policy("chat", time.Hour, map[string]string{"app": "chat"}), policy("batch", 2*time.Hour, map[string]string{"app": "batch"})},
			wantOrder:   []string{"batch", "chat"},
			wantMatched: map[string]int32{"chat": 2, "batch": 1},
		},
		"the oldest policy wins an overlap and the newer one is told which pods": {
			policies:     []v1alpha1.LLMPolicy{policy("newer", time.Minute, map[string]string{"app": "chat"}), policy("older", time.Hour, nil)},
			wantOrder:    []string{"older", "newer"},
			wantMatched:  map[string]int32{"older": 3, "newer": 0},
			wantOverlaps: map[string]map[string][]string{"newer": {"older": {"chat-1", "chat-2"}}},
		},
		"same age: the first by name wins": {
			policies:     []v1alpha1.LLMPolicy{policy("b", time.Hour, nil), policy("a", time.Hour, nil)},
			wantOrder:    []string{"a", "b"},
			wantMatched:  map[string]int32{"a": 3, "b": 0},
			wantOverlaps: map[string]map[string][]string{"b": {"a": {"batch-1", "chat-1", "chat-2"}}},
		},
		"an invalid policy is left out and wins nothing": {
			policies: func() []v1alpha1.LLMPolicy {
				bad := policy("bad", 2*time.Hour, nil)
				bad.Spec.Timeouts.Total = "forever"
				return []v1alpha1.LLMPolicy{bad, policy("good", time.Hour, nil)}
			}(),
			wantOrder:   []string{"good"},
			wantMatched: map[string]int32{"good": 3, "bad": 0},
			wantInvalid: []string{"bad"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pl := makePlan("team-a", tc.policies, pods)
			var order []string
			for _, p := range pl.Bundle.Policies {
				order = append(order, p.Name)
				assert.Equal(t, "team-a", p.Namespace)
			}
			assert.Equal(t, tc.wantOrder, order)
			require.NoError(t, pl.Bundle.Validate())
			for name, want := range tc.wantMatched {
				assert.Equal(t, want, pl.Policies[name].MatchedPods, "matched pods of %s", name)
			}
			for name, v := range pl.Policies {
				want := tc.wantOverlaps[name]
				got := map[string][]string{}
				for older, pods := range v.Overlaps {
					got[older] = pods
				}
				if want == nil {
					assert.Empty(t, got, "overlaps of %s", name)
				} else {
					for older := range want {
						assert.ElementsMatch(t, want[older], got[older], "pods of %s shadowed by %s", name, older)
					}
				}
				assert.Equal(t, contains(tc.wantInvalid, name), v.Invalid != nil, "invalid %s: %v", name, v.Invalid)
			}
		})
	}
}

func TestConflictMessage_NamesOlderPolicyPodsAndRemedy(t *testing.T) {
	v := verdict{Overlaps: map[string][]string{"older": {"p7", "p1", "p2", "p3", "p4", "p5", "p6"}}}
	assert.Equal(t, "7 pod(s) (p1, p2, p3, p4, p5 and 2 more) also selected by older policy older, which applies to them; make the podSelectors disjoint to apply this policy to them", v.conflictMessage())
}

func TestConflictMessage_StaysBoundedHoweverManyPoliciesOverlap(t *testing.T) {
	v := verdict{Overlaps: map[string][]string{}}
	for i := range 500 {
		v.Overlaps[fmt.Sprintf("older-policy-with-a-long-name-%03d", i)] = []string{strings.Repeat("p", 253)}
	}
	msg := v.conflictMessage()
	assert.Less(t, len(msg), 32<<10/4, "a condition's message may hold 32 KiB")
	assert.Contains(t, msg, "older policy older-policy-with-a-long-name-000,")
	assert.Contains(t, msg, "older policy older-policy-with-a-long-name-009,")
	assert.NotContains(t, msg, "older-policy-with-a-long-name-010")
	assert.Contains(t, msg, "; and 490 more older policies; make the podSelectors disjoint")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
