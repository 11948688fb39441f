package inject

// Names shared by the webhook, the reconciler, the Helm chart and the
// sidecar. They are part of Tollgate's interface with users and must not
// change.
const (
	// ContainerName is the name of the injected sidecar container.
	ContainerName = "tollgate-sidecar"

	// InjectLabel is the pod label that opts a pod in with the value "true",
	// whatever its namespace says.
	InjectLabel = "tollgate.dev/inject"
	// InjectAnnotation is the pod annotation that opts a pod out with the
	// value "false"; it wins over every opt-in.
	InjectAnnotation = "tollgate.dev/inject"
	// NamespaceLabel is the namespace label that opts every pod of the
	// namespace in with the value NamespaceEnabled.
	NamespaceLabel = "tollgate.dev/injection"
	// NamespaceEnabled is the value of NamespaceLabel that opts in.
	NamespaceEnabled = "enabled"
	// InjectedAnnotation marks a pod the webhook injected, with the value
	// "true".
	InjectedAnnotation = "tollgate.dev/injected"

	// ConfigMapName is the per-namespace ConfigMap the reconciler renders
	// the bundle into.
	ConfigMapName = "tollgate-config"
	// BundleKey is the key of ConfigMapName holding the bundle's JSON.
	BundleKey = "bundle.json"

	// ConfigVolume is the volume of ConfigMapName, mounted at ConfigDir.
	// Like every volume added to the pod, only the sidecar mounts it.
	ConfigVolume = "tollgate-config"
	// PodInfoVolume is the downward API volume of the pod's labels, mounted
	// at PodInfoDir.
	PodInfoVolume = "tollgate-podinfo"
	// CredentialsVolume is the projected volume of the policy's credentials
	// Secrets, mounted at CredentialsDir; only when the policy names one.
	CredentialsVolume = "tollgate-credentials"
	// TokenVolume is the projected ServiceAccount token the sidecar
	// presents to the budget ledger, mounted at TokenDir; only with a
	// ledger.
	TokenVolume = "tollgate-token"
	// StateVolume is the emptyDir where the sidecar keeps the spend it has
	// not yet reported, across container restarts; only with a ledger.
	StateVolume = "tollgate-state"
	// FailuresVolume is the emptyDir where the sidecar keeps its failure
	// records across container restarts, mounted at FailuresDir.
	FailuresVolume = "tollgate-failures"

	// ConfigDir is where the sidecar finds the bundle, BundleKey.
	ConfigDir = "/etc/tollgate/config"
	// PodInfoDir is where the sidecar finds the pod's labels, PodLabelsFile.
	PodInfoDir = "/etc/tollgate/podinfo"
	// CredentialsDir is where the sidecar finds one API key file per
	// provider, named after the provider.
	CredentialsDir = "/etc/tollgate/credentials"
	// PodLabelsFile is the downward API file of the pod's labels, under
	// PodInfoDir.
	PodLabelsFile = "labels"
	// TokenDir is where the sidecar finds TokenFile.
	TokenDir = "/var/run/secrets/tollgate"
	// TokenFile is the projected token, under TokenDir.
	TokenFile = "token"
	// StateDir is where StateVolume is mounted.
	StateDir = "/var/run/tollgate"
	// FailuresDir is where FailuresVolume is mounted: the sidecar's
	// --failure-records-dir.
	FailuresDir = "/var/run/tollgate-failures"
	// LedgerCAKey is the key of ConfigMapName holding the CA certificate
	// of the ledger's serving certificate, read by the sidecar under
	// ConfigDir.
	LedgerCAKey = "ledger-ca.crt"
	// TokenAudience is the audience of the projected token; the ledger
	// accepts no other.
	TokenAudience = "tollgate"
	// TokenExpirationSeconds is the projected token's lifetime, the
	// shortest the API server issues; the kubelet renews it before then.
	TokenExpirationSeconds = 600

	// ProxyPort is where the sidecar serves apps, on 127.0.0.1 only.
	ProxyPort = 15000
	// AdminPort serves /healthz, /readyz and /metrics on every interface,
	// for the kubelet's probes and for Prometheus.
	AdminPort = 15020
	// AdminPortName names AdminPort in the container's ports.
	AdminPortName = "tollgate-admin"
	// SidecarUser is the non-root user the sidecar runs as.
	SidecarUser = 65532
)

// ProxyURL is the sidecar's address as an app container sees it: ProxyPort
// on the loopback interface the pod's containers share.
const ProxyURL = "http://127.0.0.1:15000"

// listenAddress and adminAddress are the sidecar's --listen and --admin:
// ProxyPort on loopback, AdminPort on every interface.
const (
	listenAddress = "127.0.0.1:15000"
	adminAddress  = "0.0.0.0:15020"
)
