{{/*
Chart name, overridable with nameOverride; 63 characters is the DNS label limit for names and label values. It is
also the operator's OpenTelemetry service.name, so the Grafana operator dashboard finds it by this label.
*/}}
{{- define "obsdemo-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: <release>-<chart> unless the release name already contains the chart name.
*/}}
{{- define "obsdemo-operator.fullname" -}}
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
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "obsdemo-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "obsdemo-operator.tag" -}}
{{- .Values.image.tag | default .Chart.AppVersion | toString }}
{{- end }}

{{/*
Labels shared by every object of the chart.
*/}}
{{- define "obsdemo-operator.labels" -}}
helm.sh/chart: {{ include "obsdemo-operator.chart" . }}
{{ include "obsdemo-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ include "obsdemo-operator.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{/*
Selector labels: immutable in a Deployment, so they carry only name and instance.
*/}}
{{- define "obsdemo-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "obsdemo-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "obsdemo-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "obsdemo-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "obsdemo-operator.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (include "obsdemo-operator.fullname" .) }}
{{- end }}

{{/*
Image reference; a digest, when given, pins the exact image regardless of the tag.
*/}}
{{- define "obsdemo-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository (include "obsdemo-operator.tag" .) .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "obsdemo-operator.tag" .) }}
{{- end }}
{{- end }}

{{/*
Container resources: the explicit `resources` value wins, otherwise the selected profile's figures. No CPU limit:
throttling only slows reconciles down, while the memory limit bounds the object cache.
*/}}
{{- define "obsdemo-operator.resources" -}}
{{- $profiles := dict
  "small" (dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "memory" "384Mi"))
  "standard" (dict "requests" (dict "cpu" "200m" "memory" "256Mi") "limits" (dict "memory" "768Mi")) }}
{{- if .Values.resources }}
{{- toYaml .Values.resources }}
{{- else }}
{{- toYaml (get $profiles .Values.profile) }}
{{- end }}
{{- end }}

{{/*
The operator's permissions where ObservabilityDemos live (cluster-wide, or the watched namespace). The same set is
documented in README.md ("RBAC"); the unit tests pin it. Least privilege, rule by rule:
- its own API: read and watch the resources, update/patch them (finalizers are metadata) and their status;
- Events about them, in both APIs (events.k8s.io/v1 is what the operator writes; core v1 for older tooling);
- the kinds the charts render, which the operator server-side applies (apply on a missing object needs create,
  on an existing one patch), reads back for drift and readiness, and prunes (delete). No update: apply never uses it;
- Secrets: create only. The generated credentials are created once (409 AlreadyExists means they exist) and never
  read back; the charts get them as existingSecret and render no Secret. Without get, list or watch the operator
  cannot read any Secret, which a cluster-wide get (names are guessable) would have allowed in every namespace;
- PersistentVolumeClaims: StatefulSets create them; the operator only reads them and deletes them when a demo is
  deleted without retention;
- Pods: read-only, for readiness. Holding exactly get/list/watch on pods is also what lets it create the prometheus
  chart's Role (pods get/list/watch) and bind it: RBAC allows granting permissions one holds, so neither `escalate`
  nor `bind` is needed, and the operator can never grant anything beyond its own rules.
*/}}
{{- define "obsdemo-operator.rules" -}}
- apiGroups: [obsdemo.dev]
  resources: [observabilitydemos]
  verbs: [get, list, watch, update, patch]
- apiGroups: [obsdemo.dev]
  resources: [observabilitydemos/status]
  verbs: [get, update, patch]
- apiGroups: [obsdemo.dev]
  resources: [observabilitydemos/finalizers]
  verbs: [update]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services, configmaps, serviceaccounts]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, list, watch, create, patch, delete]
{{- end }}

{{/*
The container env; extraEnv entries replace a chart-set variable of the same name in place, so every name appears
once (server-side apply of manifests/install.yaml rejects duplicate list keys).
*/}}
{{- define "obsdemo-operator.env" -}}
{{- $entries := list
  (dict "name" "OPERATOR_PORT" "value" (toString .Values.metrics.port))
  (dict "name" "LOG_LEVEL" "value" .Values.logLevel)
  (dict "name" "WATCH_NAMESPACE" "value" .Values.watchNamespace)
  (dict "name" "RESYNC_PERIOD" "value" .Values.resyncPeriod)
  (dict "name" "MAX_CONCURRENT_RECONCILES" "value" (toString .Values.concurrency))
  (dict "name" "RECONCILE_TIMEOUT" "value" .Values.reconcileTimeout)
  (dict "name" "LEADER_ELECT" "value" (toString .Values.leaderElection.enabled))
  (dict "name" "LEADER_ELECTION_ID" "value" (include "obsdemo-operator.leaseName" .))
  (dict "name" "LEADER_ELECTION_LEASE_DURATION" "value" .Values.leaderElection.leaseDuration)
  (dict "name" "LEADER_ELECTION_RENEW_DEADLINE" "value" .Values.leaderElection.renewDeadline)
  (dict "name" "LEADER_ELECTION_RETRY_PERIOD" "value" .Values.leaderElection.retryPeriod)
  (dict "name" "POD_NAMESPACE" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.namespace")))
  (dict "name" "POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")))
  (dict "name" "OPERATOR_POD_LABELS" "value" (printf "app.kubernetes.io/name=%s,app.kubernetes.io/instance=%s" (include "obsdemo-operator.name" .) .Release.Name))
  (dict "name" "OTEL_SERVICE_NAME" "value" (include "obsdemo-operator.name" .))
  (dict "name" "OTEL_SERVICE_VERSION" "value" (include "obsdemo-operator.tag" .))
  (dict "name" "OTEL_TRACES_SAMPLER_ARG" "value" (toString .Values.tracing.samplingRatio))
  (dict "name" "HELM_CACHE_HOME" "value" "/tmp/helm/cache")
  (dict "name" "HELM_CONFIG_HOME" "value" "/tmp/helm/config")
  (dict "name" "HELM_DATA_HOME" "value" "/tmp/helm/data") }}
{{- if .Values.tracing.otlpEndpoint }}
{{- $entries = append $entries (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" .Values.tracing.otlpEndpoint) }}
{{- end }}
{{- if .Values.componentDefaults }}
{{- $entries = append $entries (dict "name" "COMPONENT_DEFAULTS" "value" (toJson .Values.componentDefaults)) }}
{{- end }}
{{- $entries = concat $entries .Values.extraEnv }}
{{- $byName := dict }}
{{- $order := list }}
{{- range $entry := $entries }}
{{- if not (hasKey $byName $entry.name) }}
{{- $order = append $order $entry.name }}
{{- end }}
{{- $_ := set $byName $entry.name $entry }}
{{- end }}
{{- $final := list }}
{{- range $order }}
{{- $final = append $final (get $byName .) }}
{{- end }}
{{- toYaml $final }}
{{- end }}
