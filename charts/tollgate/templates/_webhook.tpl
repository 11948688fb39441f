{{/*
tollgate.webhookCommon is what both injection webhooks share: the handler,
the operation (pod CREATE) and how the API server calls it.
*/}}
{{- define "tollgate.webhookCommon" -}}
clientConfig:
  service:
    name: {{ include "tollgate.webhookServiceName" . }}
    namespace: {{ .Release.Namespace }}
    path: /mutate-v1-pod
    port: 443
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    operations: ["CREATE"]
    resources: ["pods"]
    scope: Namespaced
failurePolicy: {{ .Values.webhook.failurePolicy }}
matchPolicy: Equivalent
sideEffects: None
admissionReviewVersions: ["v1"]
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
reinvocationPolicy: IfNeeded
{{- end }}
