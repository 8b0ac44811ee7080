{{/*
The services in a fixed order (maps range in key order anyway; a list keeps the order explicit) and what the
platform's architecture fixes for each: port, the prefix of its own PORT/HOST variables, the backends it uses and the
upstreams it calls (variable name -> service). These follow each service's src/config.ts; a renamed variable there
must change here.
*/}}
{{- define "demo-services.catalogue" -}}
catalog:
  port: 8000
  envPrefix: CATALOG
  component: api
  postgres: true
  nats: true
  upstreams: {}
processor:
  port: 8001
  envPrefix: PROCESSOR
  component: backend
  postgres: true
  nats: false
  upstreams:
    CATALOG_URL: catalog
invoices:
  port: 8002
  envPrefix: INVOICES
  component: consumer
  postgres: true
  nats: true
  upstreams: {}
gateway:
  port: 8080
  envPrefix: GATEWAY
  component: gateway
  postgres: false
  nats: false
  upstreams:
    CATALOG_URL: catalog
    PROCESSOR_URL: processor
    INVOICES_URL: invoices
loadgen:
  port: 8089
  envPrefix: LOADGEN
  component: load-generator
  postgres: false
  nats: false
  upstreams:
    LOADGEN_TARGET_URL: gateway
{{- end }}

{{- define "demo-services.names" -}}
{{- list "catalog" "processor" "invoices" "gateway" "loadgen" | toJson }}
{{- end }}

{{/*
Object name prefix: namePrefix or the release name. Each service's objects are <prefix>-<service>, the names the
other charts (and the operator) derive from the release name.
*/}}
{{- define "demo-services.prefix" -}}
{{- default .Release.Name .Values.namePrefix | trunc 50 | trimSuffix "-" }}
{{- end }}

{{/* Name of one service's objects; dict "root" $ "name" <service>. */}}
{{- define "demo-services.serviceFullname" -}}
{{- printf "%s-%s" (include "demo-services.prefix" .root) .name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of the chart-wide objects (ServiceAccount, test pod). */}}
{{- define "demo-services.fullname" -}}
{{- printf "%s-%s" (include "demo-services.prefix" .) .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Chart name and version for the helm.sh/chart label.
*/}}
{{- define "demo-services.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels of one service (dict "root" $ "name" <service>): immutable in a Deployment, so only name and
instance. The name is the service name, which is also its OpenTelemetry service.name: Prometheus copies this label
onto every series and Grafana joins traces to metrics through it.
*/}}
{{- define "demo-services.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/* Labels of one service's objects; dict "root" $ "name" <service>. */}}
{{- define "demo-services.labels" -}}
{{- $facts := get (include "demo-services.catalogue" .root | fromYaml) .name -}}
helm.sh/chart: {{ include "demo-services.chart" .root }}
{{ include "demo-services.selectorLabels" . }}
app.kubernetes.io/version: {{ include "demo-services.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ $facts.component }}
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{/* Labels of the chart-wide objects. */}}
{{- define "demo-services.commonLabels" -}}
helm.sh/chart: {{ include "demo-services.chart" . }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{- define "demo-services.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "demo-services.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* One service's image tag: its own, the chart-wide one, then the appVersion; dict "root" $ "name" <service>. */}}
{{- define "demo-services.imageTag" -}}
{{- $svc := get .root.Values.services .name }}
{{- $svc.image.tag | default .root.Values.image.tag | default .root.Chart.AppVersion | toString }}
{{- end }}

{{/* One service's image reference; dict "root" $ "name" <service>. */}}
{{- define "demo-services.image" -}}
{{- $svc := get .root.Values.services .name }}
{{- $global := .root.Values.image }}
{{- $default := printf "%s/%s/%s" $global.registry $global.repositoryPrefix .name | replace "//" "/" | trimPrefix "/" }}
{{- printf "%s:%s" ($svc.image.repository | default $default) (include "demo-services.imageTag" .) }}
{{- end }}

{{/*
Container resources of one service: the profile's figures, each overridden by the service's explicit `resources`
where it sets that field (setting only requests.cpu keeps the profile's memory request and limit). No CPU limit in
the profiles: throttling a Node.js event loop only adds latency, while the memory limit bounds a leak.
*/}}
{{- define "demo-services.resources" -}}
{{- $svc := get .root.Values.services .name }}
{{- $profiles := dict
  "small" (dict "requests" (dict "cpu" "25m" "memory" "96Mi") "limits" (dict "memory" "256Mi"))
  "standard" (dict "requests" (dict "cpu" "100m" "memory" "192Mi") "limits" (dict "memory" "512Mi")) }}
{{- toYaml (mergeOverwrite (deepCopy (get $profiles .root.Values.profile)) (deepCopy ($svc.resources | default dict))) }}
{{- end }}

{{- define "demo-services.otlpEndpoint" -}}
{{- .Values.tracing.otlpEndpoint | default (printf "http://%s-otel-collector:4318" .Release.Name) }}
{{- end }}

{{- define "demo-services.postgresHost" -}}
{{- .Values.postgres.host | default (printf "%s-postgres" .Release.Name) }}
{{- end }}

{{- define "demo-services.postgresSecret" -}}
{{- .Values.postgres.secretName | default (printf "%s-postgres-credentials" .Release.Name | trunc 63 | trimSuffix "-") }}
{{- end }}

{{- define "demo-services.natsUrl" -}}
{{- .Values.nats.url | default (printf "nats://%s-nats:4222" .Release.Name) }}
{{- end }}

{{/*
The container env of one service (dict "root" $ "name" <service>) as a YAML list: what the chart wires, then the
service's `config` map, then its `env` entries. A later entry replaces an earlier one of the same name in place, so
every name appears once (server-side apply rejects duplicate list keys).
*/}}
{{- define "demo-services.env" -}}
{{- $root := .root }}
{{- $name := .name }}
{{- $svc := get $root.Values.services $name }}
{{- $facts := get (include "demo-services.catalogue" $root | fromYaml) $name }}
{{- $entries := list
  (dict "name" (printf "%s_PORT" $facts.envPrefix) "value" (toString $facts.port))
  (dict "name" (printf "%s_HOST" $facts.envPrefix) "value" "0.0.0.0")
  (dict "name" "LOG_LEVEL" "value" ($svc.logLevel | default $root.Values.logLevel))
  (dict "name" "OTEL_SERVICE_NAME" "value" $name)
  (dict "name" "OTEL_SERVICE_VERSION" "value" (include "demo-services.imageTag" .))
  (dict "name" "OTEL_EXPORTER_OTLP_ENDPOINT" "value" (include "demo-services.otlpEndpoint" $root))
  (dict "name" "OTEL_TRACES_SAMPLER_ARG" "value" (toString $root.Values.tracing.samplingRatio))
  (dict "name" "OTEL_LOGS_EXPORTER" "value" (ternary "otlp" "none" $root.Values.logs.otlp)) }}
{{- if not $root.Values.tracing.enabled }}
{{- $entries = append $entries (dict "name" "OTEL_SDK_DISABLED" "value" "true") }}
{{- end }}
{{- if $facts.postgres }}
{{- $secretRef := dict "name" (include "demo-services.postgresSecret" $root) "key" (printf "%s-password" $svc.database.user) }}
{{- $entries = concat $entries (list
  (dict "name" "DB_HOST" "value" (include "demo-services.postgresHost" $root))
  (dict "name" "DB_PORT" "value" (toString $root.Values.postgres.port))
  (dict "name" "DB_NAME" "value" $svc.database.name)
  (dict "name" "DB_USER" "value" $svc.database.user)
  (dict "name" "DB_PASSWORD" "valueFrom" (dict "secretKeyRef" $secretRef))) }}
{{- end }}
{{- if $facts.nats }}
{{- $entries = concat $entries (list
  (dict "name" "NATS_URL" "value" (include "demo-services.natsUrl" $root))
  (dict "name" "NATS_STREAM_REPLICAS" "value" (toString (int $root.Values.nats.streamReplicas)))) }}
{{- end }}
{{- range $variable, $upstream := $facts.upstreams }}
{{- $facts2 := get (include "demo-services.catalogue" $root | fromYaml) $upstream }}
{{- $url := printf "http://%s:%v" (include "demo-services.serviceFullname" (dict "root" $root "name" $upstream)) $facts2.port }}
{{- $entries = append $entries (dict "name" $variable "value" $url) }}
{{- end }}
{{- with $svc.faults }}
{{- $entries = concat $entries (list
  (dict "name" "FAULT_LATENCY_MS" "value" (toString .latencyMs))
  (dict "name" "FAULT_LATENCY_PERCENT" "value" (toString .latencyPercent))
  (dict "name" "FAULT_ERROR_PERCENT" "value" (toString .errorPercent))) }}
{{- end }}
{{- with $svc.cache }}
{{- $entries = concat $entries (list
  (dict "name" "GATEWAY_CACHE_ENABLED" "value" (toString .enabled))
  (dict "name" "GATEWAY_CACHE_ROUTES" "value" (join "," .routes))
  (dict "name" "GATEWAY_CACHE_MAX_ENTRIES" "value" (toString (int64 .maxEntries)))
  (dict "name" "GATEWAY_CACHE_MAX_BYTES" "value" (toString (int64 .maxBytes)))
  (dict "name" "GATEWAY_CACHE_DEFAULT_TTL_SECONDS" "value" (toString (int64 .defaultTtlSeconds)))) }}
{{- end }}
{{- with $svc.compression }}
{{- $entries = concat $entries (list
  (dict "name" "GATEWAY_COMPRESSION_ENABLED" "value" (toString .enabled))
  (dict "name" "GATEWAY_COMPRESSION_THRESHOLD_BYTES" "value" (toString (int64 .thresholdBytes)))) }}
{{- end }}
{{- range $variable, $value := $svc.config }}
{{- $entries = append $entries (dict "name" $variable "value" (toString $value)) }}
{{- end }}
{{- $entries = concat $entries $svc.env }}
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

{{/* The NetworkPolicy peer labels of a backend (dict "root" $ "labels" <override> "name" <chart name>). */}}
{{- define "demo-services.peerLabels" -}}
{{- toYaml (.labels | default (dict "app.kubernetes.io/name" .name "app.kubernetes.io/instance" .root.Release.Name)) }}
{{- end }}
