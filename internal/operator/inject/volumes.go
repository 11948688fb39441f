package inject

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// volumes are the pod volumes the sidecar needs. The credentials volume is
// there only when the policy names a credentials Secret.
func volumes(policy *proxyconfig.Policy, cfg Config) []corev1.Volume {
	out := []corev1.Volume{
		{
			Name: ConfigVolume,
			VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName},
				// The reconciler writes the ConfigMap once a policy exists in
				// the namespace; until then the sidecar starts without one
				// (--allow-missing-policy) and picks it up when it appears.
				Optional: ptr.To(true),
			}},
		},
		{
			Name: PodInfoVolume,
			VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
				Items: []corev1.DownwardAPIVolumeFile{{
					Path:     PodLabelsFile,
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"},
				}},
			}},
		},
	}
	// The failure records' ring: the sidecar bounds its files by
	// failureRecordsMaxBytes, counted in the disk's blocks, so the volume
	// holds at most that plus the one record being written; the sizeLimit
	// leaves twice that, so that the kubelet, which evicts a pod whose
	// emptyDir outgrows its sizeLimit, never evicts one for its records.
	out = append(out, corev1.Volume{Name: FailuresVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		SizeLimit: ptr.To(resource.MustParse(failuresSizeLimit)),
	}}})
	if sources := credentialSources(policy); len(sources) > 0 {
		out = append(out, corev1.Volume{
			Name:         CredentialsVolume,
			VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: sources}},
		})
	}
	if len(cfg.LedgerURLs) > 0 {
		out = append(out,
			corev1.Volume{Name: TokenVolume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
					Audience:          TokenAudience,
					ExpirationSeconds: ptr.To[int64](TokenExpirationSeconds),
					Path:              TokenFile,
				}}},
			}}},
			// A small emptyDir: the spend not yet reported survives a restart
			// of the sidecar container, not the pod.
			corev1.Volume{Name: StateVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("16Mi"))}}},
		)
	}
	return out
}

// credentialSources projects each provider's Secret key to a file named
// after the provider, one source per Secret in order of first reference.
// Not optional: a missing Secret or key keeps the pod from starting with an
// event that names it, instead of a sidecar that sends no API key.
func credentialSources(policy *proxyconfig.Policy) []corev1.VolumeProjection {
	if policy == nil {
		return nil
	}
	var sources []corev1.VolumeProjection
	index := map[string]int{} // Secret name → its source in sources
	for _, p := range policy.Providers {
		if p.Credentials == nil {
			continue
		}
		i, ok := index[p.Credentials.Name]
		if !ok {
			i = len(sources)
			index[p.Credentials.Name] = i
			sources = append(sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: p.Credentials.Name},
				Optional:             ptr.To(false),
			}})
		}
		s := sources[i].Secret
		s.Items = append(s.Items, corev1.KeyToPath{Key: p.Credentials.Key, Path: p.Name})
	}
	return sources
}

// The failure records' bounds: the sidecar's --failure-records-max-bytes
// and the sizeLimit of its emptyDir (see volumes).
const (
	failureRecordsMaxBytes = 8 << 20
	failuresSizeLimit      = "16Mi"
)

// mounts are the sidecar's mounts of volumes, all read-only but the state
// and the failure records.
func mounts(vols []corev1.Volume) []corev1.VolumeMount {
	dirs := map[string]string{ConfigVolume: ConfigDir, PodInfoVolume: PodInfoDir, CredentialsVolume: CredentialsDir, TokenVolume: TokenDir, StateVolume: StateDir, FailuresVolume: FailuresDir}
	out := make([]corev1.VolumeMount, 0, len(vols))
	for _, v := range vols {
		out = append(out, corev1.VolumeMount{Name: v.Name, MountPath: dirs[v.Name], ReadOnly: v.Name != StateVolume && v.Name != FailuresVolume})
	}
	return out
}
