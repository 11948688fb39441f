package v1alpha1

// LabelSelector selects pods by their labels, as metav1.LabelSelector
// does (the same fields, the same meaning), with bounds and rules that let
// the API server check every label key and value when a policy is applied
// rather than when a pod is matched.
type LabelSelector struct {
	// MatchLabels selects pods that have every one of these labels, with
	// these values. Keys are label keys: an optional DNS prefix and '/',
	// then a name, e.g. app or app.kubernetes.io/name.
	//
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) <= 317 && !format.qualifiedName().validate(k).hasValue())",message="each key must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, e.g. app or app.kubernetes.io/name"
	// +optional
	MatchLabels map[string]LabelValue `json:"matchLabels,omitempty"`

	// MatchExpressions selects pods that meet every one of these
	// requirements.
	//
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelValue is the value of a label: empty, or at most 63 letters,
// digits, '-', '_' or '.', starting and ending with a letter or digit.
//
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="!format.labelValue().validate(self).hasValue()",message="must be a label value: empty, or at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
type LabelValue string

// LabelSelectorOperator relates a requirement's key to its values.
//
// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
type LabelSelectorOperator string

// Label selector operators.
const (
	SelectorOpIn           LabelSelectorOperator = "In"
	SelectorOpNotIn        LabelSelectorOperator = "NotIn"
	SelectorOpExists       LabelSelectorOperator = "Exists"
	SelectorOpDoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// LabelSelectorRequirement is one requirement of a LabelSelector.
//
// +kubebuilder:validation:XValidation:rule="self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0) : (!has(self.values) || size(self.values) == 0)",message="operators In and NotIn need values; Exists and DoesNotExist take none"
type LabelSelectorRequirement struct {
	// Key is the label the requirement is about, e.g. app or
	// app.kubernetes.io/name.
	//
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:XValidation:rule="!format.qualifiedName().validate(self).hasValue()",message="must be a label key: an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit, e.g. app or app.kubernetes.io/name"
	Key string `json:"key"`

	// Operator is In or NotIn (both with values), Exists or DoesNotExist
	// (both without).
	Operator LabelSelectorOperator `json:"operator"`

	// Values are the label values In and NotIn compare with.
	//
	// +kubebuilder:validation:MaxItems=64
	// +listType=atomic
	// +optional
	Values []LabelValue `json:"values,omitempty"`
}
