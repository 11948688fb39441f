package loader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const policyYAML = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata:
  name: chat
  namespace: team-a
spec:
  providers:
    - name: openai
      type: OpenAI
  retry: {}
`

const bundleJSON = `{
  "apiVersion": "proxyconfig.tollgate.dev/v1",
  "kind": "Bundle",
  "namespace": "team-a",
  "policies": [
    {"name": "chat", "namespace": "team-a", "selector": {"matchLabels": {"app": "chat"}},
     "providers": [{"name": "openai", "type": "OpenAI", "baseURL": "https://api.openai.com"}],
     "timeouts": {"connect": "5s", "firstToken": "1m", "total": "10m"}},
    {"name": "everyone", "namespace": "team-a",
     "providers": [{"name": "claude", "type": "Anthropic", "baseURL": "https://api.anthropic.com"}],
     "timeouts": {"connect": "5s", "firstToken": "1m", "total": "10m"}}
  ]
}`

func TestParse(t *testing.T) {
	tests := map[string]struct {
		data       string
		labels     map[string]string
		wantPolicy string // "" for none
		wantSource string
		wantErr    string
	}{
		"an LLMPolicy manifest is defaulted and translated": {
			data: policyYAML, wantPolicy: "team-a/chat", wantSource: "LLMPolicy team-a/chat",
		},
		"a bundle picks the first policy selecting the pod": {
			data: bundleJSON, labels: map[string]string{"app": "chat"}, wantPolicy: "team-a/chat",
			wantSource: "bundle of team-a (2 policies): LLMPolicy team-a/chat",
		},
		"a bundle falls through to a select-all policy": {
			data: bundleJSON, labels: map[string]string{"app": "batch"}, wantPolicy: "team-a/everyone",
		},
		"a bundle where no policy selects the pod": {
			data:       `{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle","namespace":"x","policies":[]}`,
			wantSource: "bundle of x (0 policies)",
		},
		"an invalid LLMPolicy names the field": {
			data:    policyYAML + "  timeouts: {firstToken: 5m, total: 1m}\n",
			wantErr: "spec.timeouts.firstToken",
		},
		"a misspelt field is an error, not ignored": {
			data:    policyYAML + "  retries: {}\n",
			wantErr: `unknown field "spec.retries"`,
		},
		"an explicit zero is judged, not taken for the default": {
			data:    strings.Replace(policyYAML, "retry: {}", "retry: {maxAttempts: 0}", 1),
			wantErr: "spec.retry.maxAttempts: Invalid value: 0: must be between 1 and 10",
		},
		"a bundle of another version": {
			data:    `{"apiVersion":"proxyconfig.tollgate.dev/v2","kind":"Bundle","policies":[]}`,
			wantErr: "this sidecar reads proxyconfig.tollgate.dev/v1/Bundle",
		},
		"another kind": {
			data:    "apiVersion: v1\nkind: ConfigMap\n",
			wantErr: `apiVersion "v1" kind "ConfigMap" is neither an LLMPolicy`,
		},
		"no apiVersion at all": {
			data:    "spec: {}\n",
			wantErr: "the file has no apiVersion and kind",
		},
		"not YAML": {
			data:    "{{{",
			wantErr: "not YAML or JSON",
		},
		"several documents": {
			data:    policyYAML + "---\n" + policyYAML,
			wantErr: "the file holds 2 YAML documents",
		},
		"a trailing document separator is fine": {
			data: policyYAML + "---\n# nothing more\n", wantPolicy: "team-a/chat",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, err := Parse([]byte(tc.data), tc.labels)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			if tc.wantPolicy == "" {
				assert.Nil(t, res.Policy)
			} else {
				require.NotNil(t, res.Policy)
				assert.Equal(t, tc.wantPolicy, res.Policy.Ref())
			}
			if tc.wantSource != "" {
				assert.Equal(t, tc.wantSource, res.Source)
			}
		})
	}
}

func TestParse_StandalonePolicyGetsDefaults(t *testing.T) {
	res, err := Parse([]byte(policyYAML), nil)
	require.NoError(t, err)
	p := res.Policy
	assert.Equal(t, "https://api.openai.com", p.Providers[0].BaseURL)
	require.NotNil(t, p.Retry)
	assert.Equal(t, 3, p.Retry.MaxAttempts)
	assert.Equal(t, "10m0s", p.Timeouts.Total.String())
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "labels")
	require.NoError(t, os.WriteFile(path, []byte("app=\"chat\"\npod-template-hash=\"5d4f\"\nnote=\"a \\\"quoted\\\" value\"\n"), 0o644))
	labels, err := ReadLabels(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"app": "chat", "pod-template-hash": "5d4f", "note": `a "quoted" value`}, labels)

	require.NoError(t, os.WriteFile(path, []byte("app=chat\n"), 0o644))
	_, err = ReadLabels(path)
	assert.ErrorContains(t, err, "the value of app is not a quoted string")
}

// FuzzParse feeds arbitrary files to the loader: it may refuse them, but
// must never panic, and what it accepts must be a valid policy.
func FuzzParse(f *testing.F) {
	f.Add([]byte(policyYAML))
	f.Add([]byte(bundleJSON))
	f.Add([]byte("apiVersion: tollgate.dev/v1alpha1\nkind: LLMPolicy\nspec:\n  providers: [{name: a, type: Gemini}]\n  budget: {limit: \"1\"}\n"))
	f.Add([]byte(`{"apiVersion":"proxyconfig.tollgate.dev/v1","kind":"Bundle"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(data, map[string]string{"app": "chat"})
		if err != nil || res.Policy == nil {
			return
		}
		if verr := res.Policy.Validate(); verr != nil {
			t.Fatalf("accepted an invalid policy: %v", verr)
		}
	})
}
