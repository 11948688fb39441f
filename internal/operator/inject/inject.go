package inject

import (
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Inject returns a copy of pod with the sidecar added: the sidecar as the
// last init container, its volumes, the provider variables on every app
// container that does not set them itself, and the annotation
// tollgate.dev/injected: "true". policy is the policy that selects the pod,
// or nil while none does. pod itself is not changed.
//
// Inject is idempotent: a pod that already has the sidecar comes back
// unchanged, so a webhook re-invoked on its own output, or a pod created
// from an injected pod's spec, is left alone.
//
// Inject does not decide whether the pod wants the sidecar; see Wanted.
func Inject(pod *corev1.Pod, policy *proxyconfig.Policy, cfg Config) (*corev1.Pod, error) {
	out := pod.DeepCopy()
	if Injected(pod) {
		return out, nil
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sidecar configuration: %w", err)
	}
	vols := volumes(policy, cfg)
	if err := checkVolumeNames(pod, vols); err != nil {
		return nil, err
	}

	env := appEnv(policy)
	for i := range out.Spec.Containers {
		addEnv(&out.Spec.Containers[i], env)
	}
	out.Spec.InitContainers = append(out.Spec.InitContainers, sidecarContainer(cfg, vols))
	out.Spec.Volumes = append(out.Spec.Volumes, vols...)
	if out.Annotations == nil {
		out.Annotations = map[string]string{}
	}
	out.Annotations[InjectedAnnotation] = "true"
	return out, nil
}

// checkVolumeNames refuses a pod that already uses one of the sidecar's
// volume names for something else: the API server would reject the pod
// with a duplicate volume.
func checkVolumeNames(pod *corev1.Pod, vols []corev1.Volume) error {
	taken := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		taken[v.Name] = true
	}
	var errs []error
	for _, v := range vols {
		if taken[v.Name] {
			errs = append(errs, fmt.Errorf("the pod already has a volume named %s, which the sidecar needs: rename the volume, or opt the pod out with the annotation %s: \"false\"", v.Name, InjectAnnotation))
		}
	}
	return errors.Join(errs...)
}
