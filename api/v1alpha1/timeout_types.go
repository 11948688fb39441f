package v1alpha1

// Timeouts bound how long one request may take.
//
// (The cross-field rules skip values that are not durations: those fail their
// own field's rule with a clearer message.)
//
// +kubebuilder:validation:XValidation:rule="!self.firstToken.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || !self.total.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self.firstToken) <= duration(self.total)",message="timeouts.firstToken must not exceed timeouts.total; raise total or lower firstToken",fieldPath=".firstToken"
// +kubebuilder:validation:XValidation:rule="!self.connect.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || !self.total.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self.connect) <= duration(self.total)",message="timeouts.connect must not exceed timeouts.total; raise total or lower connect",fieldPath=".connect"
type Timeouts struct {
	// Connect bounds establishing the connection to the provider (TCP and
	// TLS). Default 5s.
	//
	// +kubebuilder:default="5s"
	// +optional
	Connect Duration `json:"connect,omitempty"`

	// FirstToken bounds the wait for the first byte of the response: the
	// first token of a stream, or the whole body of a non-streaming reply.
	// An attempt that exceeds it may be retried. Default 60s.
	//
	// +kubebuilder:default="60s"
	// +optional
	FirstToken Duration `json:"firstToken,omitempty"`

	// Total bounds the whole request, retries and streaming included. A
	// stream still running at Total is ended cleanly. Default 10m.
	//
	// +kubebuilder:default="10m"
	// +optional
	Total Duration `json:"total,omitempty"`
}
