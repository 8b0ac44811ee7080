{{/* Chart name, overridable for vendoring under another name. */}}
{{- define "nats.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, capped at 63 characters because some Kubernetes name fields are DNS labels.
The release name alone is used when it already contains the chart name, to avoid "demo-nats-nats".
*/}}
{{- define "nats.fullname" -}}
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

{{- define "nats.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on StatefulSets, so they never include versions. */}}
{{- define "nats.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nats.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "nats.labels" -}}
helm.sh/chart: {{ include "nats.chart" . }}
{{ include "nats.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: messaging
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{- define "nats.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nats.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Headless Service that gives the StatefulSet pods stable DNS names. */}}
{{- define "nats.headlessServiceName" -}}
{{- printf "%s-headless" (include "nats.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Explicit .Values.resources wins; otherwise the sizes of the selected profile. */}}
{{- define "nats.resources" -}}
{{- $small := dict "requests" (dict "cpu" "50m" "memory" "64Mi") "limits" (dict "memory" "256Mi") }}
{{- $standard := dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "1Gi") }}
{{- toYaml (default (get (dict "small" $small "standard" $standard) .Values.profile) .Values.resources) }}
{{- end }}

{{/* The exporter sidecar is tiny in every profile; it only relays the monitoring endpoint. */}}
{{- define "nats.exporterResources" -}}
requests: {cpu: 10m, memory: 16Mi}
limits: {memory: 64Mi}
{{- end }}

{{- define "nats.image" -}}
{{- printf "%s:%s" .repository (.tag | toString) }}
{{- end }}
