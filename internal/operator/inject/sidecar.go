package inject

import (
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// sidecarContainer is the sidecar container: a native sidecar (an init container
// that keeps running), non-root on a read-only root filesystem with no
// capabilities, mounting vols.
func sidecarContainer(cfg Config, vols []corev1.Volume) corev1.Container {
	return corev1.Container{
		Name:            ContainerName,
		Image:           cfg.Image,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Args:            sidecarArgs(cfg),
		Env:             sidecarEnv(cfg),
		// Always makes an init container a native sidecar: it starts before
		// the app containers, runs beside them, and stops after them.
		RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
		Ports: []corev1.ContainerPort{
			{Name: AdminPortName, ContainerPort: AdminPort, Protocol: corev1.ProtocolTCP},
		},
		// The kubelet starts the next container once the startup probe
		// succeeds: apps never see a connection refused on ProxyPort.
		StartupProbe: &corev1.Probe{
			ProbeHandler:     httpGet("/healthz"),
			PeriodSeconds:    1,
			TimeoutSeconds:   1,
			FailureThreshold: 60,
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:     httpGet("/readyz"),
			PeriodSeconds:    5,
			TimeoutSeconds:   1,
			FailureThreshold: 3,
		},
		Resources:                *cfg.Resources.DeepCopy(),
		VolumeMounts:             mounts(vols),
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			RunAsUser:                ptr.To[int64](SidecarUser),
			ReadOnlyRootFilesystem:   ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
}

func httpGet(path string) corev1.ProbeHandler {
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path:   path,
		Port:   intstr.FromInt32(AdminPort),
		Scheme: corev1.URISchemeHTTP,
	}}
}

// sidecarArgs are the sidecar's command line (see internal/sidecar).
func sidecarArgs(cfg Config) []string {
	args := []string{
		"--policy=" + path.Join(ConfigDir, BundleKey),
		"--pod-labels=" + path.Join(PodInfoDir, PodLabelsFile),
		"--allow-missing-policy",
		"--credentials-dir=" + CredentialsDir,
		"--listen=" + listenAddress,
		"--admin=" + adminAddress,
		"--log-level=" + cfg.LogLevel,
		"--failure-records-dir=" + FailuresDir,
		"--failure-records-max-bytes=" + strconv.Itoa(failureRecordsMaxBytes),
	}
	if cfg.MaxRequestBytes > 0 {
		args = append(args, "--max-request-bytes="+strconv.FormatInt(cfg.MaxRequestBytes, 10))
	}
	if cfg.MaxBufferedBytes > 0 {
		args = append(args, "--max-buffered-bytes="+strconv.FormatInt(cfg.MaxBufferedBytes, 10))
	}
	if len(cfg.LedgerURLs) > 0 {
		args = append(args,
			"--ledger-url="+strings.Join(cfg.LedgerURLs, ","),
			"--ledger-ca-file="+path.Join(ConfigDir, LedgerCAKey),
			"--ledger-token-file="+path.Join(TokenDir, TokenFile),
			"--state-dir="+StateDir,
			"--ledger-unreachable="+cfg.LedgerUnreachable,
		)
	}
	return args
}

// sidecarEnv gives the sidecar its pod's UID, which its reports carry.
func sidecarEnv(cfg Config) []corev1.EnvVar {
	if len(cfg.LedgerURLs) == 0 {
		return nil
	}
	return []corev1.EnvVar{{Name: "POD_UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.uid"}}}}
}
