package v1alpha1

// MatchLabels returns a selector of the pods that carry every one of labels.
func MatchLabels(labels map[string]string) *LabelSelector {
	s := &LabelSelector{MatchLabels: make(map[string]LabelValue, len(labels))}
	for k, v := range labels {
		s.MatchLabels[k] = LabelValue(v)
	}
	return s
}
