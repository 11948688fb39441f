package webhook

import (
	"fmt"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"tollgate.dev/tollgate/internal/operator/inject"
)

// Register serves the injector on the manager's webhook server at Path,
// after checking cfg.
//
// The injector reads through the manager's API reader, not its cache: a
// pod is often created right after its namespace was labelled or its
// policy applied (a Helm release, a kustomization), and a cache that has
// not caught up yet would inject it with the wrong provider variables, or
// not at all. It costs a GET of the namespace and a LIST of its
// LLMPolicies per admitted pod; the operator needs get on namespaces and
// list on llmpolicies.
func Register(mgr manager.Manager, cfg inject.Config, log logr.Logger) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("sidecar injection: %w", err)
	}
	mgr.GetWebhookServer().Register(Path, &admission.Webhook{
		Handler: NewInjector(mgr.GetAPIReader(), cfg, log),
	})
	return nil
}
