package inject

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWanted(t *testing.T) {
	enabled := map[string]string{NamespaceLabel: NamespaceEnabled}
	tests := map[string]struct {
		labels          map[string]string
		annotations     map[string]string
		hostNetwork     bool
		namespaceLabels map[string]string
		want            bool
		wantReason      string
	}{
		"a pod in an opted-in namespace": {
			namespaceLabels: enabled, want: true, wantReason: "namespace opts in",
		},
		"a pod with the opt-in label in any namespace": {
			labels: map[string]string{InjectLabel: "true"}, want: true, wantReason: "the pod opts in",
		},
		"a pod with the opt-in label in a namespace labelled otherwise": {
			labels: map[string]string{InjectLabel: "true"}, namespaceLabels: map[string]string{NamespaceLabel: "disabled"},
			want: true, wantReason: "the pod opts in",
		},
		"neither the pod nor its namespace opts in": {
			labels: map[string]string{"app": "chat"}, namespaceLabels: map[string]string{"team": "a"}, want: false, wantReason: "neither",
		},
		"a namespace label other than enabled does not opt in": {
			namespaceLabels: map[string]string{NamespaceLabel: "true"}, want: false, wantReason: "neither",
		},
		"a pod label other than true does not opt in": {
			labels: map[string]string{InjectLabel: "yes"}, want: false, wantReason: "neither",
		},
		"the opt-out annotation wins over the namespace": {
			annotations: map[string]string{InjectAnnotation: "false"}, namespaceLabels: enabled, want: false, wantReason: "opts out",
		},
		"the opt-out annotation wins over the pod label": {
			labels: map[string]string{InjectLabel: "true"}, annotations: map[string]string{InjectAnnotation: "false"}, want: false, wantReason: "opts out",
		},
		"an annotation other than false does not opt out": {
			annotations: map[string]string{InjectAnnotation: "no"}, namespaceLabels: enabled, want: true, wantReason: "namespace opts in",
		},
		"a pod on the host's network is never injected": {
			labels: map[string]string{InjectLabel: "true"}, hostNetwork: true, namespaceLabels: enabled, want: false, wantReason: "host's network",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Labels: tc.labels, Annotations: tc.annotations},
				Spec:       corev1.PodSpec{HostNetwork: tc.hostNetwork},
			}
			got, reason := Wanted(pod, tc.namespaceLabels)
			assert.Equal(t, tc.want, got)
			assert.Contains(t, reason, tc.wantReason)
		})
	}
}

func TestInjected(t *testing.T) {
	tests := map[string]struct {
		spec corev1.PodSpec
		want bool
	}{
		"a pod without the sidecar": {
			spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}, InitContainers: []corev1.Container{{Name: "setup"}}},
		},
		"a pod with the sidecar as init container": {
			spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}, InitContainers: []corev1.Container{{Name: ContainerName}}},
			want: true,
		},
		"a pod with the sidecar as app container": {
			spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: ContainerName}}},
			want: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, Injected(&corev1.Pod{Spec: tc.spec}))
		})
	}
}

func TestInjected_IgnoresTheAnnotationAlone(t *testing.T) {
	// A pod spec copied with the annotation but without the container must
	// still get the sidecar.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{InjectedAnnotation: "true"}}}
	assert.False(t, Injected(pod))
}
