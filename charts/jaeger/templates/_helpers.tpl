{{/* Chart name, overridable for vendoring under another name. */}}
{{- define "jaeger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, capped at 63 characters because some Kubernetes name fields are DNS labels.
The release name alone is used when it already contains the chart name, to avoid "demo-jaeger-jaeger".
*/}}
{{- define "jaeger.fullname" -}}
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

{{- define "jaeger.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on Deployments, so they never include versions. */}}
{{- define "jaeger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jaeger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "jaeger.labels" -}}
helm.sh/chart: {{ include "jaeger.chart" . }}
{{ include "jaeger.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: tracing
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{/* Labels of the `helm test` pod: not the selector labels, so the Service and the policy do not select it. */}}
{{- define "jaeger.testLabels" -}}
app.kubernetes.io/name: {{ include "jaeger.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "jaeger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "jaeger.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Explicit .Values.resources wins; otherwise the sizes of the selected profile. No CPU limit: throttling only
slows queries down, while the memory limit (and the memory_limiter below it) bounds memory storage and queues. */}}
{{- define "jaeger.resources" -}}
{{- $small := dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "memory" "512Mi") }}
{{- $standard := dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "1Gi") }}
{{- toYaml (default (get (dict "small" $small "standard" $standard) .Values.profile) .Values.resources) }}
{{- end }}

{{- define "jaeger.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString) }}
{{- end }}

{{/* The data volume holds Badger's files; memory storage needs none. */}}
{{- define "jaeger.pvcName" -}}
{{- printf "%s-data" (include "jaeger.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
