package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/api/v1alpha1/validation"
)

// What config/samples/demo holds, as the demo refers to it.
const (
	// samplesDir holds the demo's manifests, relative to the repository.
	samplesDir = "config/samples/demo"

	demoNamespace = "tollgate-demo"
	policyName    = "chat"
	appContainer  = "app"
	// serviceAccount is the demo's pods' ServiceAccount, whose tokens
	// their sidecars present to the budget ledger.
	serviceAccount = "chat"
	// primaryModel is the model the app asks for; the policy's fallback
	// is fallbackModel.
	primaryModel  = "gpt-4o-mini"
	fallbackModel = "gpt-4o"

	// mockPlaceholder is the baseURL policy.yaml gives the mock provider,
	// where `go run ./cmd/mock-provider` listens; the demo's mock listens
	// on a free port instead.
	mockPlaceholder = "http://127.0.0.1:8089"
	// budgetLine is policy.yaml's budget limit; the demo's edit replaces
	// it with raisedBudgetLine.
	budgetLine       = `limit: "0.05"`
	raisedBudgetLine = `limit: "1"`
)

// demoPods are the demo's pods, in the order they are created, and their
// files under samplesDir: two workloads of the one policy, which share its
// budget. The traffic steps before the budget's go through the first.
var demoPods = []struct{ name, file string }{
	{"chat-app", "pod.yaml"},
	{"chat-worker", "pod-worker.yaml"},
}

// manifests are config/samples/demo's files, ready to apply.
type manifests struct {
	namespace, serviceAccount, policy []byte
	// pods are demoPods' manifests, in the same order.
	pods [][]byte
	// raisedPolicy is policy with the budget limit raised: the demo's
	// policy edit.
	raisedPolicy []byte
	// spec is the policy as applied, defaulted, for the numbers the
	// narration quotes.
	spec v1alpha1.LLMPolicySpec
}

// readManifests reads the demo's manifests from the repository at root and
// points the policy's provider at the mock provider's URL.
func readManifests(root, mockURL string) (manifests, error) {
	var m manifests
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(root, samplesDir, name))
		if err != nil {
			return nil, fmt.Errorf("read the demo's manifest: %w", err)
		}
		return b, nil
	}
	var err error
	if m.namespace, err = read("namespace.yaml"); err != nil {
		return m, err
	}
	if m.serviceAccount, err = read("serviceaccount.yaml"); err != nil {
		return m, err
	}
	for _, p := range demoPods {
		data, err := read(p.file)
		if err != nil {
			return m, err
		}
		m.pods = append(m.pods, data)
	}
	policy, err := read("policy.yaml")
	if err != nil {
		return m, err
	}
	withMock, err := replaceOnce(string(policy), "baseURL: "+mockPlaceholder, "baseURL: "+mockURL)
	if err != nil {
		return m, fmt.Errorf("%s/policy.yaml: %w", samplesDir, err)
	}
	raised, err := replaceOnce(withMock, budgetLine, raisedBudgetLine)
	if err != nil {
		return m, fmt.Errorf("%s/policy.yaml: %w", samplesDir, err)
	}
	m.policy, m.raisedPolicy = []byte(withMock), []byte(raised)
	var p v1alpha1.LLMPolicy
	if err := yaml.UnmarshalStrict(m.policy, &p); err != nil {
		return m, fmt.Errorf("%s/policy.yaml: %w", samplesDir, err)
	}
	validation.Default(&p)
	m.spec = p.Spec
	return m, nil
}

// replaceOnce replaces the one occurrence of old in s; the demo's edits
// fail loudly when the manifest no longer says what they expect.
func replaceOnce(s, old, new string) (string, error) {
	if n := strings.Count(s, old); n != 1 {
		return "", fmt.Errorf("the demo expects %q exactly once, found it %d times: keep the demo's code and manifest in step", old, n)
	}
	return strings.Replace(s, old, new, 1), nil
}
