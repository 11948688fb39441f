// Package inject adds the Tollgate sidecar to a pod: a pure function from a
// pod (and the policy that selects it, if any) to the mutated pod, which
// the admission webhook (internal/operator/webhook) turns into a JSON patch. Golden
// files under testdata pin its output.
//
// The sidecar is a native sidecar: an init container with restartPolicy
// Always, appended after the pod's own init containers, so that everything
// the pod sets up first (network, other sidecars) is in place when it
// starts, and its startup probe holds the app containers back until it
// listens. Init containers run before it, so only app containers are
// pointed at it.
//
// # How apps find the sidecar
//
// Each app container gets, unless it sets the variable itself in env, the
// variables official SDKs read their base URL from, pointing at the
// sidecar's route for the provider of that type, plus
// TOLLGATE_<PROVIDER>_BASE_URL for every provider the policy declares (the
// name upper-cased, '-' turned into '_'):
//
//	variable                read by                                              source
//	OPENAI_BASE_URL         openai-go (DefaultClientOptions), openai-python       openai-go client.go; openai-python _client.py;
//	                        (OpenAI), openai-node (OpenAI, and AzureOpenAI!)      openai-node src/client.ts, src/azure.ts
//	ANTHROPIC_BASE_URL      anthropic-sdk-go (DefaultClientOptions),              anthropic-sdk-go client.go;
//	                        anthropic-sdk-python (Anthropic, AsyncAnthropic)      anthropic-sdk-python src/anthropic/_client.py
//	AZURE_OPENAI_ENDPOINT   openai-python AzureOpenAI, openai-node AzureOpenAI    openai-python src/openai/lib/azure.py;
//	                        (not openai-go: azure.WithEndpoint takes it as code)  openai-node src/azure.ts
//	GOOGLE_GEMINI_BASE_URL  google-genai for Python and Go (Gemini API backend)   python-genai google/genai/_base_url.py;
//	                                                                              go-genai client.go (defaultEnvVarProvider)
//
// The values follow each SDK's idea of a base URL: the OpenAI SDKs append
// paths to .../v1, so OPENAI_BASE_URL ends in /v1; the Anthropic and
// google-genai SDKs add their version themselves (/v1/messages,
// /v1beta/models/...), and the Azure clients add /openai/deployments/...
// to the endpoint. The sidecar forwards /<provider>/<path> to
// <baseURL>/<path>.
//
// OPENAI_BASE_URL goes to the first provider of type OpenAI, or, when the
// policy has none, to its first OpenAICompatible provider (vLLM, Ollama and
// llama.cpp are called through the OpenAI SDKs). openai-node's AzureOpenAI
// client prefers OPENAI_BASE_URL over AZURE_OPENAI_ENDPOINT: a Node app
// using it in a pod whose policy also has an OpenAI provider must pass its
// endpoint in code (or set OPENAI_BASE_URL itself).
//
// With no policy selecting the pod yet, the four SDK variables point at the
// conventional provider names openai, anthropic, azure and gemini. A policy
// applied later takes effect without restarting the pod (the sidecar
// reloads its bundle) only if it names its providers that way; otherwise
// the pod must be restarted to be injected with the policy's names.
//
// Variables set in a container's env are never overridden. Variables that
// come from envFrom are: Kubernetes gives env precedence over envFrom, and
// the webhook cannot see what a referenced ConfigMap or Secret holds. Set
// such a variable in env to keep it.
//
// # Credentials
//
// API keys never reach the app: every credentials Secret the policy's
// providers reference is mounted into the sidecar alone, as a projected
// volume with one file per provider, named after the provider. The
// projection is not optional, so a missing Secret shows up as an event on
// the pod instead of a sidecar that silently sends no key.
//
// # Failure records
//
// Every sidecar keeps the records of the requests that failed or fell back
// in an emptyDir of its own (FailuresVolume at FailuresDir), so that they
// survive a restart of its container. The sidecar bounds them below the
// volume's sizeLimit, past which the kubelet would evict the pod.
package inject
