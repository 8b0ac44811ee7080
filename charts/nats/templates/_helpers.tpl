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

{{/* "true" when the servers form a cluster (replicas > 1), else empty: usable directly in `if`. */}}
{{- define "nats.clustered" -}}
{{- if gt (int .Values.replicas) 1 }}true{{ end }}
{{- end }}

{{/*
The route URL of every server of the StatefulSet, one a line, through the headless Service's per-pod DNS names, which exist
before the pods are ready (publishNotReadyAddresses). A server ignores the route to itself.
*/}}
{{- define "nats.routes" -}}
{{- $fullname := include "nats.fullname" . }}
{{- $headless := include "nats.headlessServiceName" . }}
{{- range $i := until (int .Values.replicas) }}
nats://{{ $fullname }}-{{ $i }}.{{ $headless }}:{{ $.Values.cluster.port }}
{{- end }}
{{- end }}

{{/*
The PodDisruptionBudget's maxUnavailable as a pod count (percentages round up, as Kubernetes does), and a clear
failure when a cluster could lose its majority: JetStream stops accepting writes without one.
*/}}
{{- define "nats.pdbMaxUnavailable" -}}
{{- $value := .Values.podDisruptionBudget.maxUnavailable }}
{{- $replicas := int .Values.replicas }}
{{- $pods := 0 }}
{{- if hasSuffix "%" (toString $value) }}
{{- $pods = div (add (mul $replicas (trimSuffix "%" (toString $value) | int)) 99) 100 }}
{{- else }}
{{- $pods = int $value }}
{{- end }}
{{- $minority := div (sub $replicas 1) 2 }}
{{- if and (gt $replicas 1) (gt (int $pods) $minority) }}
{{- fail (printf "podDisruptionBudget.maxUnavailable %v lets %d of %d NATS servers go at once, which loses the JetStream quorum: use at most %d" $value (int $pods) $replicas $minority) }}
{{- end }}
{{- $value }}
{{- end }}
