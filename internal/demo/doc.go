// Package demo is `make demo`: Tollgate end to end on one machine, as a
// short narrated table a newcomer can follow and a test can run.
//
// Run starts a local control plane (the cached kube-apiserver and etcd,
// through internal/testkit/testenv) with the chart's MutatingWebhookConfiguration
// pointing at 127.0.0.1, the real tollgate-operator binary serving that
// webhook, and the mock provider. It applies config/samples/demo with
// kubectl, creates the sample pod and shows what the webhook injected, then
// plays the kubelet: it materialises the pod's volumes (the rendered
// ConfigMap in the kubelet's ..data layout, the downward API labels file)
// under a directory and runs the real tollgate-sidecar binary with the
// injected arguments, their paths moved under that directory and its ports
// moved to free ones on 127.0.0.1.
//
// Traffic is the app's: the openai-go SDK, pointed at the injected
// OPENAI_BASE_URL, while the mock injects faults through its HTTP control
// API. Each step checks what it narrates (retries, a breaker opening, a
// fallback, a budget block, a policy edit hot-reloaded) and Run returns an
// error if any did not behave. Every process it started is stopped, and
// every file it wrote removed, also when it fails or ctx is cancelled.
package demo
