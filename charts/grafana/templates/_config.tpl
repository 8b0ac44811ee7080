{{/*
grafana.ini as sections of key/value pairs; .Values.config is merged over it. Plugin preinstall is off because it
downloads plugins from grafana.com at start, which fails offline and behind the NetworkPolicy; every datasource and
panel used here is built in.
*/}}
{{- define "grafana.ini" -}}
{{- $ini := dict
  "server" (dict "http_port" "3000")
  "paths" (dict "data" "/var/lib/grafana" "provisioning" "/etc/grafana/provisioning")
  "log" (dict "mode" "console")
  "analytics" (dict "reporting_enabled" "false" "check_for_updates" "false" "check_for_plugin_updates" "false")
  "news" (dict "news_feed_enabled" "false")
  "security" (dict "disable_gravatar" "true")
  "users" (dict "allow_sign_up" "false")
  "auth.anonymous" (dict "enabled" (toString .Values.anonymous.enabled) "org_role" .Values.anonymous.role)
  "dashboards" (dict "default_home_dashboard_path" "/etc/grafana/dashboards/service-overview.json")
  "plugins" (dict "preinstall_disabled" "true") }}
{{- $ini = mergeOverwrite $ini (deepCopy .Values.config) }}
{{- $lines := list }}
{{- range $section, $settings := $ini }}
{{- $lines = append $lines (printf "[%s]" $section) }}
{{- range $key, $value := $settings }}
{{- $lines = append $lines (printf "%s = %v" $key $value) }}
{{- end }}
{{- end }}
{{- join "\n" $lines }}
{{- end }}

{{/*
Provisioned datasources. Grafana expands $VAR in provisioning files, so a literal $ in a query is written $$.
The trace datasource is Tempo (uid "tempo") or Jaeger (uid "jaeger"): Prometheus' exemplar links and the dashboards
name whichever is on. Both get the same trace-to-metrics links and, with the Loki datasource (uid "loki", the services'
logs sent over OTLP), the same trace-to-logs links; Loki's trace_id (structured metadata) links back to the trace.
*/}}
{{- define "grafana.datasources" -}}
{{- $traces := .Values.datasources.traces }}
apiVersion: 1
prune: true
datasources:
  - name: Prometheus
    type: prometheus
    uid: prometheus
    access: proxy
    url: {{ include "grafana.prometheusUrl" . | quote }}
    isDefault: true
    editable: false
    jsonData:
      prometheusType: Prometheus
      httpMethod: POST
      timeInterval: {{ .Values.datasources.prometheus.scrapeInterval | quote }}
      {{- if $traces.enabled }}
      exemplarTraceIdDestinations:
        - name: trace_id
          datasourceUid: {{ include "grafana.tracesUid" . }}
          urlDisplayLabel: View trace
      {{- end }}
  {{- if and $traces.enabled (eq $traces.type "tempo") }}
  - name: Tempo
    type: tempo
    uid: tempo
    access: proxy
    url: {{ include "grafana.tracesUrl" . | quote }}
    isDefault: false
    editable: false
    jsonData:
      serviceMap:
        datasourceUid: prometheus
      nodeGraph:
        enabled: true
      search:
        hide: false
        filters:
          - id: service-name
            tag: service.name
            operator: "="
            scope: resource
          - id: span-name
            tag: name
            operator: "="
            scope: span
      traceQuery:
        timeShiftEnabled: true
        spanStartTimeShift: -30m
        spanEndTimeShift: 30m
      {{- include "grafana.tracesToMetrics" . | nindent 6 }}
      {{- include "grafana.tracesToLogs" . | nindent 6 }}
  {{- else if $traces.enabled }}
  - name: Jaeger
    type: jaeger
    uid: jaeger
    access: proxy
    url: {{ include "grafana.tracesUrl" . | quote }}
    isDefault: false
    editable: false
    jsonData:
      nodeGraph:
        enabled: true
      {{- include "grafana.tracesToMetrics" . | nindent 6 }}
      {{- include "grafana.tracesToLogs" . | nindent 6 }}
  {{- end }}
  {{- if .Values.datasources.logs.enabled }}
  - name: Loki
    type: loki
    uid: loki
    access: proxy
    url: {{ include "grafana.logsUrl" . | quote }}
    isDefault: false
    editable: false
    jsonData:
      maxLines: 1000
      {{- if $traces.enabled }}
      {{- /* Loki keeps an OTLP record's trace id as the structured metadata trace_id. */}}
      derivedFields:
        - name: TraceID
          matcherType: label
          matcherRegex: trace_id
          datasourceUid: {{ include "grafana.tracesUid" . }}
          url: "$${__value.raw}"
          urlDisplayLabel: View trace
      {{- end }}
  {{- end }}
{{- end }}

{{/*
Trace to logs, for either trace datasource when the Loki datasource is on: the span's service's log lines of that
trace. Loki indexes an OTLP record's service.name as service_name and keeps trace_id as structured metadata, which a
label filter after the selector matches.
*/}}
{{- define "grafana.tracesToLogs" -}}
{{- if .Values.datasources.logs.enabled -}}
tracesToLogsV2:
  datasourceUid: loki
  spanStartTimeShift: -5m
  spanEndTimeShift: 5m
  tags:
    - key: service.name
      value: service_name
  customQuery: true
  query: '{$${__tags}} | trace_id="$${__trace.traceId}"'
{{- end }}
{{- end }}

{{/*
Trace to metrics, for either trace datasource: a span's service.name becomes the `service` label of the services'
own HTTP metrics and of the Collector's span metrics.
*/}}
{{- define "grafana.tracesToMetrics" -}}
tracesToMetrics:
  datasourceUid: prometheus
  spanStartTimeShift: -5m
  spanEndTimeShift: 5m
  tags:
    - key: service.name
      value: service
  queries:
    - name: Request rate
      query: sum by (route, status) (rate(http_requests_total{$$__tags}[$$__rate_interval]))
    - name: p95 latency
      query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{$$__tags}[$$__rate_interval])))
    - name: Span rate
      query: sum by (span_name) (rate(traces_spanmetrics_calls_total{$$__tags}[$$__rate_interval]))
{{- end }}

{{/*
Dashboard provider: Grafana loads every JSON file under the mounted dashboards ConfigMap into one folder.
*/}}
{{- define "grafana.dashboardProvider" -}}
apiVersion: 1
providers:
  - name: observability-demo
    orgId: 1
    folder: {{ .Values.dashboards.folder | quote }}
    type: file
    disableDeletion: true
    allowUiUpdates: false
    updateIntervalSeconds: 30
    options:
      path: /etc/grafana/dashboards
{{- end }}
