{{/* Chart name, overridable for vendoring under another name. */}}
{{- define "postgres.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name, capped at 63 characters because some Kubernetes name fields are DNS labels.
The release name alone is used when it already contains the chart name, to avoid "demo-postgres-postgres".
*/}}
{{- define "postgres.fullname" -}}
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

{{- define "postgres.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: immutable on StatefulSets, so they never include versions. */}}
{{- define "postgres.selectorLabels" -}}
app.kubernetes.io/name: {{ include "postgres.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "postgres.labels" -}}
helm.sh/chart: {{ include "postgres.chart" . }}
{{ include "postgres.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: database
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{- define "postgres.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "postgres.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "postgres.headlessServiceName" -}}
{{- printf "%s-headless" (include "postgres.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Secret with the superuser and per-service passwords: the generated one, or auth.existingSecret. */}}
{{- define "postgres.secretName" -}}
{{- default (printf "%s-credentials" (include "postgres.fullname" .) | trunc 63 | trimSuffix "-") .Values.auth.existingSecret }}
{{- end }}

{{/* Explicit .Values.resources wins; otherwise the sizes of the selected profile. */}}
{{- define "postgres.resources" -}}
{{- $small := dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "memory" "384Mi") }}
{{- $standard := dict "requests" (dict "cpu" "250m" "memory" "512Mi") "limits" (dict "memory" "1Gi") }}
{{- toYaml (default (get (dict "small" $small "standard" $standard) .Values.profile) .Values.resources) }}
{{- end }}

{{/* Server settings per profile, overridable key by key through .Values.config. */}}
{{- define "postgres.config" -}}
{{- $profile := dict "max_connections" "50" "shared_buffers" "32MB" "work_mem" "2MB" }}
{{- if eq .Values.profile "standard" }}
{{- $profile = dict "max_connections" "200" "shared_buffers" "128MB" "work_mem" "4MB" }}
{{- end }}
{{- toYaml (merge (deepCopy .Values.config) $profile) }}
{{- end }}

{{- define "postgres.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | toString) }}
{{- end }}
