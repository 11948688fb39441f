package testenv

import (
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// WebhookEnv is a running control plane that calls admission webhooks
// served by the test.
type WebhookEnv struct {
	*Env
	// Webhooks are the install options, filled in by StartWithWebhooks:
	// LocalServingHost and LocalServingPort are where the API server calls
	// the webhooks, LocalServingCertDir holds the serving certificate
	// (tls.crt, tls.key) it trusts. Serve the webhooks there, e.g. with a
	// controller-runtime webhook.Server.
	Webhooks *envtest.WebhookInstallOptions
}

// StartWithWebhooks starts the control plane like Start, then installs the
// webhook configurations of opts: envtest generates a CA and a serving
// certificate for opts.LocalServingHost, sets the CA as the caBundle of
// every webhook, and turns a service client config into a URL on the
// serving host and port. A webhook configured with a URL keeps it, so set
// LocalServingHost and LocalServingPort to the URL's. Call Stop when done.
//
// The API server loads new webhook configurations asynchronously: wait
// for the first admission (e.g. poll dry-run creates) before relying on
// the webhooks.
func StartWithWebhooks(opts envtest.WebhookInstallOptions) (*WebhookEnv, error) {
	env, err := Start()
	if err != nil {
		return nil, err
	}
	e := &WebhookEnv{Env: env, Webhooks: &opts}
	if err := opts.Install(env.Config); err != nil {
		return nil, errors.Join(fmt.Errorf("install webhook configurations: %w", err), e.Stop())
	}
	return e, nil
}

// Stop stops the control plane and removes its files and the webhooks'
// certificates.
func (e *WebhookEnv) Stop() error {
	return errors.Join(e.Env.Stop(), e.Webhooks.Cleanup())
}
