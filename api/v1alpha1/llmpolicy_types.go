package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LLMPolicySpec declares how the pods selected by a policy may call LLM
// providers.
//
// +kubebuilder:validation:XValidation:rule="!has(self.fallbacks) || self.fallbacks.all(f, !has(f.provider) || self.providers.exists(p, p.name == f.provider))",messageExpression="'spec.fallbacks[' + ['0', '1', '2', '3', '4', '5', '6', '7'][self.fallbacks.map(f, !has(f.provider) || self.providers.exists(p, p.name == f.provider)).indexOf(false)] + '].provider ' + self.fallbacks[self.fallbacks.map(f, !has(f.provider) || self.providers.exists(p, p.name == f.provider)).indexOf(false)].provider + ' is not declared in spec.providers; fix the name or declare the provider'",fieldPath=".fallbacks",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.fallbacks) || !has(self.cache) || (has(self.cache.enabled) && !self.cache.enabled) || !has(self.cache.ttl) || !self.cache.ttl.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || self.fallbacks.all(f, !has(f.cachedResponse) || !has(f.cachedResponse.maxStale) || !f.cachedResponse.maxStale.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(f.cachedResponse.maxStale) > duration(self.cache.ttl))",message="a cachedResponse rung's maxStale must be longer than cache.ttl: answers younger than the ttl are served by the cache before any attempt; raise maxStale or lower cache.ttl",fieldPath=".fallbacks",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.budget) || !has(self.budget.downgradeTo) || self.providers.exists(p, p.name == self.budget.downgradeTo.provider)",messageExpression="'spec.budget.downgradeTo.provider ' + self.budget.downgradeTo.provider + ' is not declared in spec.providers; add it or name a declared provider'",fieldPath=".budget.downgradeTo.provider",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.cache) || !has(self.cache.semantic) || self.providers.exists(p, p.name == self.cache.semantic.embedding.provider)",messageExpression="'spec.cache.semantic.embedding.provider ' + self.cache.semantic.embedding.provider + ' is not declared in spec.providers; add it or name a declared provider'",fieldPath=".cache.semantic.embedding.provider",reason=FieldValueInvalid
// +kubebuilder:validation:XValidation:rule="!has(self.cache) || !has(self.cache.semantic) || !self.providers.exists(p, p.name == self.cache.semantic.embedding.provider && p.type == 'Anthropic')",messageExpression="'spec.cache.semantic.embedding.provider ' + self.cache.semantic.embedding.provider + ' is of type Anthropic, which has no embeddings endpoint; name an OpenAI, AzureOpenAI, Gemini or OpenAICompatible provider'",fieldPath=".cache.semantic.embedding.provider",reason=FieldValueInvalid
type LLMPolicySpec struct {
	// Mode is Enforce (the default) or DryRun. In DryRun the sidecar
	// evaluates the policy on every request as Enforce would — the
	// providers' model allow-lists, the prices a budget needs, the budget
	// (spend is counted and reported to the ledger exactly, and its state
	// computed), the rate limits and the circuit breaker (its state is
	// tracked from real answers) — but refuses nothing and never
	// downgrades: a request Enforce would have refused or downgraded is
	// sent to the provider it asked for, and counted under the action that
	// would have been taken (metric tollgate_dryrun_decisions_total, the
	// x-tollgate-dry-run header, one log line per action per minute, and
	// the policy's DryRun condition and status.dryRun). Timeouts, retries,
	// fallbacks, the caches and output validation, which only help a
	// request, act in both modes. Use DryRun to see what a policy would do
	// before enforcing it.
	//
	// +kubebuilder:default=Enforce
	// +optional
	Mode PolicyMode `json:"mode,omitempty"`

	// PodSelector selects the pods of this namespace the policy applies to.
	// An empty or absent selector selects every pod in the namespace. When
	// several policies select a pod, the oldest one applies.
	//
	// +optional
	PodSelector *LabelSelector `json:"podSelector,omitempty"`

	// Providers are the LLM endpoints the selected pods call. Each provider
	// is served by the sidecar under the route prefix /<name>, so an app sets
	// for example OPENAI_BASE_URL=http://127.0.0.1:15000/openai/v1.
	//
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(p, self.exists_one(q, q.name == p.name))",message="provider names must be unique; rename one of the duplicates"
	Providers []Provider `json:"providers"`

	// Timeouts bound how long one request may take. Always in effect; absent
	// fields take their defaults.
	//
	// +kubebuilder:default={connect: "5s", firstToken: "60s", total: "10m"}
	// +optional
	Timeouts *Timeouts `json:"timeouts,omitempty"`

	// Retry re-sends failed requests with exponential backoff. Absent means no
	// retries; `retry: {}` turns retries on with the defaults.
	//
	// +optional
	Retry *Retry `json:"retry,omitempty"`

	// CircuitBreaker stops sending to a provider and model that keeps
	// failing. Absent means no circuit breaking.
	//
	// +optional
	CircuitBreaker *CircuitBreaker `json:"circuitBreaker,omitempty"`

	// RateLimit caps the requests, tokens and concurrency of each selected
	// pod. Absent means no limits.
	//
	// +optional
	RateLimit *RateLimit `json:"rateLimit,omitempty"`

	// Budget caps spend in USD per period. Absent means no budget.
	//
	// +optional
	Budget *Budget `json:"budget,omitempty"`

	// Fallbacks are tried in order when a request fails after its retries or
	// its circuit breaker is open: other providers and models, the last
	// good answer to the same request (one cachedResponse rung), and, as
	// the last rung, a static response. A typical ladder is the primary,
	// then cachedResponse, then a cheaper model, then staticResponse; a
	// request no rung answers gets a clear error.
	//
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:XValidation:rule="self.filter(f, has(f.cachedResponse)).size() <= 1",message="cachedResponse may only be used once in spec.fallbacks; keep one cachedResponse rung"
	// +kubebuilder:validation:XValidation:rule="self.all(f, !has(f.staticResponse)) || (has(self[size(self) - 1].staticResponse) && self.filter(f, has(f.staticResponse)).size() == 1)",message="staticResponse may only be used once, as the last fallback rung; move it to the end of spec.fallbacks"
	// +optional
	Fallbacks []FallbackRung `json:"fallbacks,omitempty"`

	// Cache answers repeated identical requests from memory. Absent means no
	// caching.
	//
	// +optional
	Cache *Cache `json:"cache,omitempty"`

	// FailureRecords says what the failure records of the policy's
	// requests hold. Every request that finally fails (after its retries
	// and fallbacks) and every request a fallback rung answers leaves a
	// JSON record in its sidecar: request id, time, provider, model, each
	// attempt's status, error type and latency, the provider's error
	// bodies (the first 4 KiB of each), and the rung that answered. The
	// sidecar keeps the last records on the pod's disk (a bounded ring
	// that survives a restart of the sidecar) and serves them, newest
	// first, at its admin endpoint /failures on port 15020, to loopback
	// clients: kubectl port-forward, or kubectl exec into the pod. Records
	// never hold an API key: credential headers (Authorization, x-api-key,
	// api-key, x-goog-api-key, cookies) and key-like query parameters are
	// redacted, and every key seen in the request or held by the sidecar
	// is scrubbed from the bodies recorded. Absent, records hold
	// everything but the request body.
	//
	// +optional
	FailureRecords *FailureRecords `json:"failureRecords,omitempty"`
	// Validation checks that answers to requests asking for structured
	// output are what they asked for: with OpenAI's response_format (or the
	// Responses API's text.format) of type json_object or json_schema,
	// Anthropic's output_config.format (or output_format), or Gemini's
	// responseMimeType application/json with responseJsonSchema, the
	// assistant's text must be JSON, and valid against the request's own
	// schema (Gemini's responseSchema: JSON syntax only). Refusals and tool
	// calls are not judged. An answer that fails is a failure of class
	// InvalidOutput: retried when retry.retryOn names it (by default), then
	// sent to the fallbacks, and never counted by circuit breakers. Every
	// answer is paid for and charged, exactly once. When no rung answers
	// validly the app gets the last answer with X-Tollgate-Validation:
	// failed and X-Tollgate-Validation-Reason; checked answers carry
	// passed, unchecked ones skipped with the reason (a schema that refers
	// outside itself, or is over 256 KiB, is skipped, never fetched).
	// Absent means no validation: answers pass through unchecked.
	//
	// +optional
	Validation *OutputValidation `json:"validation,omitempty"`

	// Pricing overrides the built-in price table for the named models, and
	// prices models the table does not know.
	//
	// +listType=map
	// +listMapKey=model
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Pricing []ModelPrice `json:"pricing,omitempty"`
}

// LLMPolicyStatus is the observed state of an LLMPolicy.
type LLMPolicyStatus struct {
	// Conditions describe the state of the policy. `Ready` is true when the
	// policy is valid and rendered into its namespace's sidecar config.
	//
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the metadata.generation the status describes.
	//
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// MatchedPods is the number of pods the policy currently applies to.
	//
	// +optional
	MatchedPods int32 `json:"matchedPods,omitempty"`

	// Budget is the spend of the current budget period, summed over every pod
	// the policy applies to by the operator's budget ledger.
	//
	// +optional
	Budget *BudgetStatus `json:"budget,omitempty"`

	// DryRun is what the policy would have done in the current period,
	// summed over every pod it applies to, while its mode is DryRun.
	//
	// +optional
	DryRun *DryRunStatus `json:"dryRun,omitempty"`
}

// LLMPolicy declares reliability and cost policy for the LLM traffic of the
// pods it selects: timeouts, retries, circuit breaking, rate limits, budgets,
// fallbacks, caching and the validation of structured output. An injected sidecar enforces it.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=llmp,categories=tollgate
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Budget",type=string,JSONPath=`.status.budget.state`
// +kubebuilder:printcolumn:name="Spent",type=string,JSONPath=`.status.budget.spent`
// +kubebuilder:printcolumn:name="Limit",type=string,JSONPath=`.spec.budget.limit`
// +kubebuilder:printcolumn:name="Pods",type=integer,JSONPath=`.status.matchedPods`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LLMPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired policy.
	Spec LLMPolicySpec `json:"spec"`

	// Status is the observed state of the policy, written by the operator.
	//
	// +optional
	Status LLMPolicyStatus `json:"status,omitempty"`
}

// LLMPolicyList is a list of LLMPolicy.
//
// +kubebuilder:object:root=true
type LLMPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LLMPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LLMPolicy{}, &LLMPolicyList{})
}
