// Package demo is `make demo`: Tollgate end to end on one machine, as a
// short narrated table a newcomer can follow and a test can run.
//
// Run starts a local control plane (the cached kube-apiserver and etcd,
// through internal/testkit/testenv) with the chart's MutatingWebhookConfiguration
// pointing at 127.0.0.1, the real tollgate-operator binary serving that
// webhook and the budget ledger (on a free port of 127.0.0.1, with a
// certificate of the demo's), and the mock provider. It applies
// config/samples/demo with kubectl, creates the two sample pods, two
// workloads of one policy, and shows what the webhook injected, then plays
// the kubelet for each: it materialises the pod's volumes (the rendered
// ConfigMap with the ledger's CA in the kubelet's ..data layout, the
// downward API labels file, a ServiceAccount token bound to the pod from
// the TokenRequest API, the state emptyDir) under a directory and runs the
// real tollgate-sidecar binary with the injected environment and
// arguments, their paths moved under that directory and its ports moved
// to free ones on 127.0.0.1.
//
// Traffic is the apps': the openai-go SDK, pointed at each pod's injected
// OPENAI_BASE_URL, while the mock injects faults through its HTTP control
// API. Each step checks what it narrates (retries, a breaker opening, a
// fallback, both pods' spend in the policy's one status.budget and then a
// budget block in either, a policy edit hot-reloaded through the ledger)
// and Run returns an error if any did not behave. Every process it
// started is stopped, and every file it wrote removed, also when it fails
// or ctx is cancelled.
package demo
