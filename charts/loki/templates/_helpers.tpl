{{/* Chart name, overridable for vendoring under another name. */}}
{{- define "loki.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, capped at 63 characters because some Kubernetes name fields are DNS labels.
The release name alone is used when it already contains the chart name, to avoid "demo-loki-loki".
*/}}
{{- define "loki.fullname" -}}
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

{{- define "loki.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on StatefulSets, so they never include versions. */}}
{{- define "loki.selectorLabels" -}}
app.kubernetes.io/name: {{ include "loki.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "loki.labels" -}}
helm.sh/chart: {{ include "loki.chart" . }}
{{ include "loki.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: logging
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{- define "loki.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "loki.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Explicit .Values.resources wins; otherwise the sizes of the selected profile. */}}
{{- define "loki.resources" -}}
{{- $small := dict "requests" (dict "cpu" "100m" "memory" "256Mi") "limits" (dict "memory" "1Gi") }}
{{- $standard := dict "requests" (dict "cpu" "500m" "memory" "1Gi") "limits" (dict "memory" "2Gi") }}
{{- toYaml (default (get (dict "small" $small "standard" $standard) .Values.profile) .Values.resources) }}
{{- end }}

{{- define "loki.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString) }}
{{- end }}

{{/* Loki's gRPC port: used in-process by the single binary only (not on the Service, closed by the NetworkPolicy). */}}
{{- define "loki.grpcPort" -}}
9095
{{- end }}
