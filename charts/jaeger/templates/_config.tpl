{{/*
Jaeger v2's configuration (a Collector configuration with Jaeger's extensions), built as a map and written with
toYaml: OTLP in, memory_limiter and batch, the jaeger_storage_exporter into one storage backend named "traces", which
the jaeger_query extension serves on the query port. Listeners bind 0.0.0.0 except the query gRPC API, which
nothing here uses; a local run rewrites these addresses. The query service does not trace itself: its spans would go
to the SDK's default endpoint, localhost:4317, which is Jaeger's own receiver.
*/}}
{{- define "jaeger.config" -}}
{{- $v := .Values }}
{{- $backend := dict }}
{{- if eq $v.storage.type "badger" }}
{{- $backend = dict "badger" (dict
  "directories" (dict "keys" "/var/lib/jaeger/keys" "values" "/var/lib/jaeger/values")
  "ephemeral" false
  "ttl" (dict "spans" $v.storage.badger.ttl)) }}
{{- else }}
{{- $backend = dict "memory" (dict "max_traces" (int $v.storage.memory.maxTraces)) }}
{{- end }}

{{- $telemetryMetrics := dict "level" "none" }}
{{- if $v.metrics.enabled }}
{{- $telemetryMetrics = dict "level" "normal" "readers" (list (dict "pull" (dict "exporter" (dict "prometheus" (dict
  "host" "0.0.0.0" "port" (int $v.metrics.port)))))) }}
{{- end }}

{{- $config := dict
  "extensions" (dict
    "jaeger_storage" (dict "backends" (dict "traces" $backend))
    "jaeger_query" (dict
      "storage" (dict "traces" "traces")
      "enable_tracing" false
      "http" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.queryPort)))
      "grpc" (dict "endpoint" "127.0.0.1:16685"))
    "healthcheckv2" (dict
      "use_v2" true
      "http" (dict
        "endpoint" (printf "0.0.0.0:%d" (int $v.service.healthPort))
        "status" (dict "enabled" true "path" "/status"))))
  "receivers" (dict "otlp" (dict "protocols" (dict
    "grpc" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.otlpGrpcPort)))
    "http" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.otlpHttpPort))))))
  "processors" (dict
    "memory_limiter" (dict "check_interval" "1s" "limit_percentage" 80 "spike_limit_percentage" 25)
    "batch" dict)
  "exporters" (dict "jaeger_storage_exporter" (dict "trace_storage" "traces"))
  "service" (dict
    "extensions" (list "jaeger_storage" "jaeger_query" "healthcheckv2")
    "pipelines" (dict "traces" (dict
      "receivers" (list "otlp")
      "processors" (list "memory_limiter" "batch")
      "exporters" (list "jaeger_storage_exporter")))
    "telemetry" (dict
      "resource" (dict "service.name" "jaeger")
      "logs" (dict "level" $v.logLevel)
      "metrics" $telemetryMetrics)) }}
{{- toYaml $config }}
{{- end }}
