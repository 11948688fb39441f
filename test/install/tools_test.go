package install

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// helmVersion is the helm that hack/install-helm.sh builds (`make helm`).
const helmVersion = "v3.22.0"

// commandTimeout bounds every helm and kubectl run, so a hung command fails
// its test instead of the whole suite's deadline.
const commandTimeout = 2 * time.Minute

// chartDir is the chart under test, relative to the repository root.
const chartDir = "charts/tollgate"

// helmPath returns bin/helm-<helmVersion>, failing the test when it has not
// been built: the chart tests are part of `make test`, never skipped.
func helmPath(t *testing.T) string {
	t.Helper()
	path := filepath.Join(env.RepoRoot, "bin", "helm-"+helmVersion)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("helm %s not found at %s: run `make helm` (builds it once into bin/, about a minute): %v", helmVersion, path, err)
	}
	return path
}

// run runs a command in the repository root with stdin, and returns its
// stdout and stderr.
func run(t *testing.T, stdin, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = env.RepoRoot
	cmd.Stdin = strings.NewReader(stdin)
	if filepath.Base(name) == "helm-"+helmVersion {
		// helm keeps caches and repository settings in the user's home;
		// give it its own.
		home := t.TempDir()
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// helm runs helm and returns its stdout, failing the test on error.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := run(t, "", helmPath(t), args...)
	require.NoError(t, err, "helm %s\n%s", strings.Join(args, " "), stderr)
	return stdout
}

// helmTemplate renders the chart as release "tollgate" in namespace with
// extra helm arguments (such as --set), including the CRDs.
func helmTemplate(t *testing.T, namespace string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	args = append([]string{"template", "tollgate", chartDir, "--namespace", namespace, "--include-crds"}, args...)
	return parseObjects(t, helm(t, args...))
}

// kubectl runs the control plane's kubectl against the test API server and
// returns its stdout, failing the test on error.
func kubectl(t *testing.T, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	args = append([]string{"--kubeconfig", env.Kubeconfig}, args...)
	stdout, stderr, err := run(t, stdin, env.Kubectl, args...)
	require.NoError(t, err, "kubectl %s\n%s", strings.Join(args, " "), stderr)
	return stdout, stderr
}

// kustomize renders a kustomization directory with kubectl's built-in
// kustomize, as `kubectl apply -k` would.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	stdout, _ := kubectl(t, "", "kustomize", dir)
	return parseObjects(t, stdout)
}

// parseObjects splits a multi-document YAML stream into objects, skipping
// empty documents.
func parseObjects(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	reader := k8syaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifests)))
	var objects []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects
		}
		require.NoError(t, err)
		var fields map[string]any
		require.NoError(t, yaml.Unmarshal(doc, &fields), "parse document:\n%s", doc)
		if len(fields) == 0 {
			continue
		}
		objects = append(objects, &unstructured.Unstructured{Object: fields})
	}
}

// find returns the one object of kind and name, failing the test if there is
// none.
func find(t *testing.T, objects []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	require.Failf(t, "object not rendered", "no %s %q among %v", kind, name, ids(objects))
	return nil
}

// has reports whether objects hold one of kind.
func has(objects []*unstructured.Unstructured, kind string) bool {
	for _, o := range objects {
		if o.GetKind() == kind {
			return true
		}
	}
	return false
}

// typed converts an object into its Go type, such as *appsv1.Deployment.
func typed[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	var v T
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &v), "convert %s %s", o.GetKind(), o.GetName())
	return &v
}

// ids names objects as "Kind namespace/name", for messages and set checks.
func ids(objects []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objects))
	for _, o := range objects {
		out = append(out, id(o))
	}
	return out
}

func id(o *unstructured.Unstructured) string {
	if o.GetNamespace() == "" {
		return o.GetKind() + " " + o.GetName()
	}
	return o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
}
