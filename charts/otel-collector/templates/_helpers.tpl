{{/* Chart name, overridable for vendoring under another name. */}}
{{- define "otel-collector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, capped at 63 characters because some Kubernetes name fields are DNS labels.
The release name alone is used when it already contains the chart name, to avoid "x-otel-collector-otel-collector".
*/}}
{{- define "otel-collector.fullname" -}}
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

{{- define "otel-collector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on Deployments, so they never include versions. */}}
{{- define "otel-collector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otel-collector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otel-collector.labels" -}}
helm.sh/chart: {{ include "otel-collector.chart" . }}
{{ include "otel-collector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: telemetry-pipeline
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{/* Labels of the `helm test` pod: not the selector labels, so the Service and the policy do not select it. */}}
{{- define "otel-collector.testLabels" -}}
app.kubernetes.io/name: {{ include "otel-collector.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otel-collector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otel-collector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Explicit .Values.resources wins; otherwise the sizes of the selected profile. No CPU limit: throttling a
pipeline only grows its queues, while the memory limit (and the memory_limiter below it) bounds them. */}}
{{- define "otel-collector.resources" -}}
{{- $small := dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "memory" "384Mi") }}
{{- $standard := dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "1Gi") }}
{{- toYaml (default (get (dict "small" $small "standard" $standard) .Values.profile) .Values.resources) }}
{{- end }}

{{- define "otel-collector.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString) }}
{{- end }}

{{/* The remote-write URL, rendered; empty when no metrics are exported. */}}
{{- define "otel-collector.remoteWriteUrl" -}}
{{- tpl .Values.remoteWrite.url . }}
{{- end }}

{{/*
"true" when the Collector runs the metrics pipeline: a remote-write URL and at least one connector. Without a URL
the connectors' series would go nowhere, so neither runs.
*/}}
{{- define "otel-collector.metricsPipeline" -}}
{{- if and (include "otel-collector.remoteWriteUrl" .) (or .Values.serviceGraphs.enabled .Values.spanMetrics.enabled) -}}
true
{{- end }}
{{- end }}
