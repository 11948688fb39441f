package v1alpha1

// FailureRecords says what the failure records of a policy's requests hold
// beyond what they always hold.
type FailureRecords struct {
	// IncludeRequestBody adds the app's request body to each failure
	// record, cut at maxBodyBytes. Bodies hold the prompts your users
	// sent: turn it on where the records may hold them, e.g. to see which
	// requests a provider refuses. Default false.
	//
	// +kubebuilder:default=false
	// +optional
	IncludeRequestBody *bool `json:"includeRequestBody,omitempty"`

	// MaxBodyBytes is how much of a request body a record keeps, when
	// includeRequestBody is true; the record says how long the whole body
	// was. Default 4096. Between 1 and 65536.
	//
	// +kubebuilder:default=4096
	// +kubebuilder:validation:XValidation:rule="self >= 1 && self <= 65536",message="must be between 1 and 65536"
	// +optional
	MaxBodyBytes int32 `json:"maxBodyBytes,omitempty"`
}
