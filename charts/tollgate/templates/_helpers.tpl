{{/*
tollgate.name is the chart name, or nameOverride.
*/}}
{{- define "tollgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tollgate.fullname prefixes every namespaced object and the cluster-wide RBAC:
the release name, followed by the chart name unless the release name already
contains it. Release "tollgate" gives "tollgate", which matches config/default.
*/}}
{{- define "tollgate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
tollgate.operatorName names the operator's Deployment, ServiceAccount, RBAC
and PodDisruptionBudget.
*/}}
{{- define "tollgate.operatorName" -}}
{{- printf "%s-operator" (include "tollgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tollgate.chart is the helm.sh/chart label value.
*/}}
{{- define "tollgate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tollgate.labels are the standard labels of every object.
*/}}
{{- define "tollgate.labels" -}}
helm.sh/chart: {{ include "tollgate.chart" . }}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
tollgate.selectorLabels select the operator pods; they never change across
upgrades because a Deployment's selector is immutable.
*/}}
{{- define "tollgate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tollgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
tollgate.serviceAccountName is the operator's ServiceAccount.
*/}}
{{- define "tollgate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tollgate.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: name an existing ServiceAccount in the release namespace" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
The webhook's names are shared with the operator (flags --webhook-service-name,
--webhook-config-name, --webhook-cert-secret) and fixed, so one cluster has
one injector whatever the release is called.
*/}}
{{- define "tollgate.webhookServiceName" -}}tollgate-webhook{{- end }}
{{- define "tollgate.webhookConfigName" -}}tollgate-sidecar-injector{{- end }}
{{- define "tollgate.webhookCertSecret" -}}tollgate-webhook-cert{{- end }}
{{- define "tollgate.webhookCertDir" -}}/tmp/k8s-webhook-server/serving-certs{{- end }}

{{/*
tollgate.ledgerServiceName is the Service that routes sidecars to the budget
ledger: it selects the operator pod the leader labels
tollgate.dev/ledger-leader=true. The operator gets the same name
(--ledger-service-name), tells it to sidecars and puts it in the
self-managed certificate.
*/}}
{{- define "tollgate.ledgerServiceName" -}}
{{- printf "%s-ledger" (include "tollgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tollgate.certificateName is the cert-manager Certificate of the webhook.
*/}}
{{- define "tollgate.certificateName" -}}
{{- printf "%s-webhook" (include "tollgate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
tollgate.image is "<repository>:<tag>" with the tag defaulting to appVersion.
Call with (dict "image" .Values.image "root" .).
*/}}
{{- define "tollgate.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) }}
{{- end }}
