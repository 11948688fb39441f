package inject

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// sdkVariable is an environment variable official SDKs read their base URL
// from (see the package documentation for which SDK reads which).
type sdkVariable struct {
	name string
	// types are the provider types the variable may point at, by
	// preference: the first provider of the first type present wins.
	types []proxyconfig.ProviderType
	// conventional is the provider name used while no policy selects the
	// pod.
	conventional string
	// suffix is appended to the provider's route: the SDK's base URL
	// includes the API version for OpenAI and not for the others.
	suffix string
}

// sdkVariables are set in this order.
var sdkVariables = []sdkVariable{
	{name: "OPENAI_BASE_URL", types: []proxyconfig.ProviderType{proxyconfig.OpenAI, proxyconfig.OpenAICompatible}, conventional: "openai", suffix: "/v1"},
	{name: "ANTHROPIC_BASE_URL", types: []proxyconfig.ProviderType{proxyconfig.Anthropic}, conventional: "anthropic"},
	{name: "AZURE_OPENAI_ENDPOINT", types: []proxyconfig.ProviderType{proxyconfig.AzureOpenAI}, conventional: "azure"},
	{name: "GOOGLE_GEMINI_BASE_URL", types: []proxyconfig.ProviderType{proxyconfig.Gemini}, conventional: "gemini"},
}

// ProviderVariable is the variable that holds the sidecar's route for a
// provider of any type: TOLLGATE_<NAME>_BASE_URL, the name upper-cased with
// '-' turned into '_' (provider names are DNS labels, so the result is a
// valid variable name).
func ProviderVariable(provider string) string {
	return "TOLLGATE_" + strings.ToUpper(strings.ReplaceAll(provider, "-", "_")) + "_BASE_URL"
}

// appEnv is what every app container is given, in order: the SDK variables,
// then one TOLLGATE_<NAME>_BASE_URL per provider in the policy's order.
func appEnv(policy *proxyconfig.Policy) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, v := range sdkVariables {
		provider := v.conventional
		if policy != nil {
			provider = firstOfType(policy.Providers, v.types)
		}
		if provider != "" {
			env = append(env, corev1.EnvVar{Name: v.name, Value: route(provider) + v.suffix})
		}
	}
	if policy != nil {
		for _, p := range policy.Providers {
			env = append(env, corev1.EnvVar{Name: ProviderVariable(p.Name), Value: route(p.Name)})
		}
	}
	return env
}

func firstOfType(providers []proxyconfig.Provider, types []proxyconfig.ProviderType) string {
	for _, t := range types {
		for _, p := range providers {
			if p.Type == t {
				return p.Name
			}
		}
	}
	return ""
}

// route is the sidecar's URL for a provider.
func route(provider string) string {
	return ProxyURL + "/" + provider
}

// addEnv appends to c.Env each variable of env that c does not set itself.
func addEnv(c *corev1.Container, env []corev1.EnvVar) {
	set := make(map[string]bool, len(c.Env))
	for _, e := range c.Env {
		set[e.Name] = true
	}
	for _, e := range env {
		if !set[e.Name] {
			c.Env = append(c.Env, e)
		}
	}
}
