package policy

// Target is where one attempt goes: a provider of the policy and a model.
// Each target has its own circuit breaker.
type Target struct {
	Provider string
	Model    string
}

// String formats t as provider/model.
func (t Target) String() string {
	if t.Model == "" {
		return t.Provider
	}
	return t.Provider + "/" + t.Model
}
