package v1alpha1

import (
	"fmt"
	"time"
)

// Duration is a positive length of time in Go syntax, such as 500ms, 30s,
// 2m or 1h30m.
//
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) > duration('0s')",message="must be a positive duration such as 500ms, 5s or 2m"
type Duration string

// Parse returns d as a time.Duration. The empty Duration parses as zero.
func (d Duration) Parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write it like 500ms, 30s or 2m", string(d))
	}
	if v <= 0 {
		return 0, fmt.Errorf("%q must be positive", string(d))
	}
	return v, nil
}
