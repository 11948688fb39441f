// Package testenv starts a real control plane (kube-apiserver and etcd, built
// by hack/build-control-plane.sh) with Tollgate's CRDs installed, for tests
// that touch the Kubernetes API. There are no fake clients in Tollgate's
// tests: anything that talks to the API server talks to this one.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	tollgatev1alpha1 "tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/internal/testkit/proc"
)

// Env is a running control plane.
type Env struct {
	// Config reaches the API server as a cluster admin.
	Config *rest.Config
	// Client is a controller-runtime client whose scheme knows Kubernetes'
	// built-in types and Tollgate's.
	Client client.Client
	// Scheme is the scheme of Client.
	Scheme *k8sruntime.Scheme
	// Kubeconfig is the path of a kubeconfig file for Config, for kubectl.
	Kubeconfig string
	// Kubectl is the path of a kubectl of the API server's version.
	Kubectl string
	// RepoRoot is the repository's root directory.
	RepoRoot string

	env *envtest.Environment
	dir string
}

// Start starts kube-apiserver and etcd and installs the CRDs under
// config/crd/bases. Call Stop when done (typically from TestMain).
//
// The binaries come from KUBEBUILDER_ASSETS, or else from bin/k8s/ in the
// repository; without either, Start fails and says how to build them.
func Start() (*Env, error) {
	// controller-runtime complains loudly when no logger is ever set; tests
	// that want logs set their own.
	ctrl.SetLogger(logr.Discard())

	root, err := proc.RepoRoot()
	if err != nil {
		return nil, err
	}
	assets, err := findAssets(root)
	if err != nil {
		return nil, err
	}
	scheme := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := tollgatev1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}

	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		Scheme:                scheme,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start kube-apiserver and etcd from %s: %w", assets, err)
	}
	e := &Env{Config: cfg, Scheme: scheme, RepoRoot: root, env: env, Kubectl: filepath.Join(assets, "kubectl")}
	if e.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		_ = e.Stop()
		return nil, err
	}
	if e.dir, err = os.MkdirTemp("", "tollgate-testenv-"); err != nil {
		_ = e.Stop()
		return nil, err
	}
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "tollgate-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("add kubeconfig user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	e.Kubeconfig = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kubeconfig, 0o600); err != nil {
		_ = e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop stops the control plane and removes its files.
func (e *Env) Stop() error {
	err := e.env.Stop()
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
	return err
}

// findAssets returns the directory holding kube-apiserver, etcd and kubectl.
func findAssets(root string) (string, error) {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		if err := checkAssets(dir); err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s: %w", dir, err)
		}
		return dir, nil
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "bin", "k8s", "*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, dir := range dirs {
		if checkAssets(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no kube-apiserver found in %s: run `make control-plane` (builds kube-apiserver and etcd once, ~5 minutes) or set KUBEBUILDER_ASSETS",
		filepath.Join(root, "bin", "k8s"))
}

func checkAssets(dir string) error {
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("missing %s: %w", name, err)
		}
	}
	return nil
}
