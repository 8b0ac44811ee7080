{{/*
The Collector's configuration, built as a map and written with toYaml so that every optional part (backends,
connectors, the metrics pipeline) is added or left out whole.

traces:  otlp → memory_limiter → batch → each trace backend, servicegraph, spanmetrics
metrics: servicegraph, spanmetrics → memory_limiter → transform/tempo-names → batch → prometheusremotewrite
logs:    otlp → memory_limiter → batch → each log backend (only when logs.backends is not empty)

Every listener binds 0.0.0.0 (the components default to localhost); a local run rewrites these addresses.
*/}}
{{- define "otel-collector.config" -}}
{{- $v := .Values }}
{{- $metricsPipeline := eq (include "otel-collector.metricsPipeline" .) "true" }}

{{- $receivers := dict "otlp" (dict "protocols" (dict
  "grpc" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.otlpGrpcPort)))
  "http" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.otlpHttpPort))))) }}

{{- $processors := dict
  "memory_limiter" (dict
    "check_interval" "1s"
    "limit_percentage" (int $v.memoryLimiter.limitPercentage)
    "spike_limit_percentage" (int $v.memoryLimiter.spikeLimitPercentage))
  "batch" dict }}

{{- /* One OTLP exporter per trace backend; in-cluster gRPC is plaintext unless a backend says otherwise. */}}
{{- $exporters := dict }}
{{- $traceExporters := list }}
{{- range $b := $v.traces.backends }}
{{- $endpoint := tpl $b.endpoint $ }}
{{- if eq $b.protocol "grpc" }}
{{- $insecure := true }}
{{- if hasKey $b "insecure" }}{{ $insecure = $b.insecure }}{{ end }}
{{- $id := printf "otlp/%s" $b.name }}
{{- if hasKey $exporters $id }}{{ fail (printf "traces.backends: the name %q is used twice" $b.name) }}{{ end }}
{{- $_ := set $exporters $id (dict "endpoint" $endpoint "tls" (dict "insecure" $insecure)) }}
{{- $traceExporters = append $traceExporters $id }}
{{- else }}
{{- $id := printf "otlphttp/%s" $b.name }}
{{- if hasKey $exporters $id }}{{ fail (printf "traces.backends: the name %q is used twice" $b.name) }}{{ end }}
{{- $_ := set $exporters $id (dict "endpoint" $endpoint) }}
{{- $traceExporters = append $traceExporters $id }}
{{- end }}
{{- end }}

{{- /* One OTLP/HTTP exporter per log backend (Loki takes OTLP at /otlp; the exporter appends /v1/logs). */}}
{{- $logExporters := list }}
{{- range $b := $v.logs.backends }}
{{- $id := printf "otlphttp/logs-%s" $b.name }}
{{- if hasKey $exporters $id }}{{ fail (printf "logs.backends: the name %q is used twice" $b.name) }}{{ end }}
{{- $_ := set $exporters $id (dict "endpoint" (tpl $b.endpoint $)) }}
{{- $logExporters = append $logExporters $id }}
{{- end }}

{{- $connectors := dict }}
{{- $metricReceivers := list }}
{{- if $metricsPipeline }}
{{- if $v.serviceGraphs.enabled }}
{{- $_ := set $connectors "servicegraph" (dict
  "latency_histogram_buckets" $v.serviceGraphs.latencyBuckets
  "dimensions" $v.serviceGraphs.dimensions
  "database_name_attributes" $v.serviceGraphs.databaseNameAttributes
  "virtual_node_peer_attributes" $v.serviceGraphs.virtualNodePeerAttributes
  "store" (dict "ttl" $v.serviceGraphs.store.ttl "max_items" (int $v.serviceGraphs.store.maxItems))
  "metrics_flush_interval" $v.metricsFlushInterval) }}
{{- $metricReceivers = append $metricReceivers "servicegraph" }}
{{- end }}
{{- if $v.spanMetrics.enabled }}
{{- $dimensions := list }}
{{- range $v.spanMetrics.dimensions }}{{ $dimensions = append $dimensions (dict "name" .) }}{{ end }}
{{- $_ := set $connectors "spanmetrics" (dict
  "namespace" "traces.spanmetrics"
  "histogram" (dict "unit" "s" "explicit" (dict "buckets" $v.spanMetrics.latencyBuckets))
  "dimensions" $dimensions
  "exemplars" (dict "enabled" $v.spanMetrics.exemplars)
  "resource_metrics_key_attributes" (list "service.name")
  "metrics_flush_interval" $v.metricsFlushInterval) }}
{{- $metricReceivers = append $metricReceivers "spanmetrics" }}
{{- end }}
{{- /*
Tempo's names and labels, which the dashboards, alert rules, Grafana's service map and the operator query:
the connectors' histograms get their unit in the name (add_metric_suffixes is off so that nothing else is appended),
span metrics drop the "traces.spanmetrics." prefix and label the service "service" instead of "service_name", and no
resource attribute becomes a label (the span metrics of every pod of a service are one series, as in Tempo).
*/}}
{{- $_ := set $processors "transform/tempo-names" (dict
  "error_mode" "ignore"
  "metric_statements" (list
    (dict "context" "resource" "statements" (list
      "delete_matching_keys(resource.attributes, \".*\")"))
    (dict "context" "metric" "statements" (list
      "set(metric.name, \"traces_spanmetrics_calls_total\") where metric.name == \"traces.spanmetrics.calls\""
      "set(metric.name, \"traces_spanmetrics_latency\") where metric.name == \"traces.spanmetrics.duration\""
      "set(metric.name, \"traces_service_graph_request_server_seconds\") where metric.name == \"traces_service_graph_request_server\""
      "set(metric.name, \"traces_service_graph_request_client_seconds\") where metric.name == \"traces_service_graph_request_client\""))
    (dict "context" "datapoint" "statements" (list
      "set(datapoint.attributes[\"service\"], datapoint.attributes[\"service.name\"]) where datapoint.attributes[\"service.name\"] != nil"
      "delete_key(datapoint.attributes, \"service.name\")")))) }}
{{- $_ := set $exporters "prometheusremotewrite" (dict
  "endpoint" (include "otel-collector.remoteWriteUrl" .)
  "add_metric_suffixes" false
  "target_info" (dict "enabled" false)
  "external_labels" $v.remoteWrite.externalLabels) }}
{{- end }}

{{- /* A traces pipeline needs an exporter: with no backend and no connector, spans are only counted in the log. */}}
{{- $tracesOut := concat $traceExporters $metricReceivers }}
{{- if not $tracesOut }}
{{- $_ := set $exporters "debug" (dict "verbosity" "basic" "sampling_initial" 1 "sampling_thereafter" 1000) }}
{{- $tracesOut = list "debug" }}
{{- end }}

{{- $pipelines := dict "traces" (dict
  "receivers" (list "otlp")
  "processors" (list "memory_limiter" "batch")
  "exporters" $tracesOut) }}
{{- if $logExporters }}
{{- $_ := set $pipelines "logs" (dict
  "receivers" (list "otlp")
  "processors" (list "memory_limiter" "batch")
  "exporters" $logExporters) }}
{{- end }}
{{- if $metricsPipeline }}
{{- $_ := set $pipelines "metrics" (dict
  "receivers" $metricReceivers
  "processors" (list "memory_limiter" "transform/tempo-names" "batch")
  "exporters" (list "prometheusremotewrite")) }}
{{- end }}

{{- $telemetryMetrics := dict "level" "none" }}
{{- if $v.metrics.enabled }}
{{- $telemetryMetrics = dict "level" "normal" "readers" (list (dict "pull" (dict "exporter" (dict "prometheus" (dict
  "host" "0.0.0.0" "port" (int $v.metrics.port)))))) }}
{{- end }}

{{- $config := dict
  "extensions" (dict "health_check" (dict "endpoint" (printf "0.0.0.0:%d" (int $v.service.healthPort))))
  "receivers" $receivers
  "processors" $processors
  "exporters" $exporters
  "service" (dict
    "extensions" (list "health_check")
    "telemetry" (dict "logs" (dict "level" $v.logLevel) "metrics" $telemetryMetrics)
    "pipelines" $pipelines) }}
{{- if $connectors }}
{{- $_ := set $config "connectors" $connectors }}
{{- end }}
{{- toYaml $config }}
{{- end }}
