package inject

import (
	corev1 "k8s.io/api/core/v1"
)

// Wanted tells whether a pod should get the sidecar, and why, for logs.
// A pod opts in with the label tollgate.dev/inject: "true" or by living in
// a namespace labelled tollgate.dev/injection=enabled; the annotation
// tollgate.dev/inject: "false" opts it out whatever else says. Pods on the
// host's network are never injected: the sidecar's ports would be the
// node's, shared with every other such pod, and its admin port would be
// reachable from outside the node.
func Wanted(pod *corev1.Pod, namespaceLabels map[string]string) (bool, string) {
	switch {
	case pod.Annotations[InjectAnnotation] == "false":
		return false, `the pod opts out with the annotation tollgate.dev/inject: "false"`
	case pod.Spec.HostNetwork:
		return false, "the pod uses the host's network, where the sidecar's ports would be the node's"
	case pod.Labels[InjectLabel] == "true":
		return true, `the pod opts in with the label tollgate.dev/inject: "true"`
	case namespaceLabels[NamespaceLabel] == NamespaceEnabled:
		return true, "the namespace opts in with the label tollgate.dev/injection=enabled"
	}
	return false, `neither the pod (label tollgate.dev/inject: "true") nor its namespace (label tollgate.dev/injection=enabled) opts in`
}

// Injected tells whether a pod already has the sidecar, so that injecting
// it again (a re-invoked webhook, a pod spec copied from an injected pod)
// changes nothing.
func Injected(pod *corev1.Pod) bool {
	return hasContainer(pod.Spec.InitContainers, ContainerName) || hasContainer(pod.Spec.Containers, ContainerName)
}

func hasContainer(containers []corev1.Container, name string) bool {
	for i := range containers {
		if containers[i].Name == name {
			return true
		}
	}
	return false
}
