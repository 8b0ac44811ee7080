{{/*
Chart name, overridable with nameOverride; 63 characters is the DNS label limit for names and label values.
*/}}
{{- define "grafana.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: <release>-<chart> unless the release name already contains the chart name, so an umbrella
install named "demo" yields "demo-grafana" next to "demo-prometheus" and "demo-tempo".
*/}}
{{- define "grafana.fullname" -}}
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
{{- define "grafana.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels shared by every object of the chart.
*/}}
{{- define "grafana.labels" -}}
helm.sh/chart: {{ include "grafana.chart" . }}
{{ include "grafana.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: visualization
app.kubernetes.io/part-of: observability-demo
{{- end }}

{{/*
Selector labels: immutable in a Deployment, so they carry only name and instance.
*/}}
{{- define "grafana.selectorLabels" -}}
app.kubernetes.io/name: {{ include "grafana.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
Name of the Secret holding the admin credentials: the user's existing Secret or the one this chart generates.
*/}}
{{- define "grafana.adminSecretName" -}}
{{- if .Values.admin.existingSecret }}
{{- .Values.admin.existingSecret }}
{{- else }}
{{- printf "%s-admin" (include "grafana.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "grafana.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "grafana.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Image reference; a digest, when given, pins the exact image regardless of the tag.
*/}}
{{- define "grafana.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository .Values.image.tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end }}
{{- end }}

{{/*
Container resources: the explicit `resources` value wins, otherwise the selected profile's figures. No CPU limit:
throttling a dashboard server only makes it slow, while the memory limit bounds a runaway query.
*/}}
{{- define "grafana.resources" -}}
{{- $profiles := dict
  "small" (dict "requests" (dict "cpu" "50m" "memory" "128Mi") "limits" (dict "memory" "384Mi"))
  "standard" (dict "requests" (dict "cpu" "250m" "memory" "256Mi") "limits" (dict "memory" "1Gi")) }}
{{- if .Values.resources }}
{{- toYaml .Values.resources }}
{{- else }}
{{- toYaml (get $profiles .Values.profile) }}
{{- end }}
{{- end }}

{{- define "grafana.prometheusUrl" -}}
{{- .Values.datasources.prometheus.url | default (printf "http://%s-prometheus:9090" .Release.Name) }}
{{- end }}

{{/* The trace datasource's uid: its type's name, so links and dashboards name it the same on every install. */}}
{{- define "grafana.tracesUid" -}}
{{- .Values.datasources.traces.type }}
{{- end }}

{{- define "grafana.tracesUrl" -}}
{{- $ports := dict "tempo" 3200 "jaeger" 16686 }}
{{- $type := .Values.datasources.traces.type }}
{{- .Values.datasources.traces.url | default (printf "http://%s-%s:%d" .Release.Name $type (get $ports $type)) }}
{{- end }}

{{- define "grafana.logsUrl" -}}
{{- .Values.datasources.logs.url | default (printf "http://%s-loki:3100" .Release.Name) }}
{{- end }}

{{/* The port Grafana connects to for logs: networkPolicy.logs.port, else the Loki datasource URL's port. */}}
{{- define "grafana.logsPort" -}}
{{- if .Values.networkPolicy.logs.port }}
{{- .Values.networkPolicy.logs.port }}
{{- else }}
{{- $url := urlParse (include "grafana.logsUrl" .) }}
{{- $hostPort := splitList ":" $url.host }}
{{- if gt (len $hostPort) 1 }}
{{- last $hostPort }}
{{- else }}
{{- ternary 443 80 (eq $url.scheme "https") }}
{{- end }}
{{- end }}
{{- end }}

{{/* The port Grafana connects to for traces: networkPolicy.traces.port, else the datasource URL's port. */}}
{{- define "grafana.tracesPort" -}}
{{- if .Values.networkPolicy.traces.port }}
{{- .Values.networkPolicy.traces.port }}
{{- else }}
{{- $url := urlParse (include "grafana.tracesUrl" .) }}
{{- $hostPort := splitList ":" $url.host }}
{{- if gt (len $hostPort) 1 }}
{{- last $hostPort }}
{{- else }}
{{- ternary 443 80 (eq $url.scheme "https") }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Fails the render unless the dashboard JSON (dict "name" "content") parses, has a uid, and every panel, nested panel,
target and query variable references one of the provisioned datasource uids. Dashboards are provisioned files, so a
wrong uid would only show as "datasource not found" in the browser; failing here catches it in `helm lint`.
*/}}
{{- define "grafana.validateDashboard" -}}
{{- $dashboard := fromJson .content }}
{{- if hasKey $dashboard "Error" }}
{{- fail (printf "dashboard %s is not valid JSON: %s" .name (get $dashboard "Error")) }}
{{- end }}
{{- if not $dashboard.uid }}
{{- fail (printf "dashboard %s has no uid; provisioned dashboards need a stable uid" .name) }}
{{- end }}
{{- $allowed := list "prometheus" "tempo" }}
{{- if eq .tracesType "jaeger" }}{{ $allowed = append $allowed "jaeger" }}{{ end }}
{{- $refs := list }}
{{- range $panel := $dashboard.panels | default list }}
{{- $refs = append $refs (dict "where" (printf "panel %q" ($panel.title | default "")) "ds" $panel.datasource) }}
{{- range $target := $panel.targets | default list }}
{{- $where := printf "a target of panel %q" ($panel.title | default "") }}
{{- $refs = append $refs (dict "where" $where "ds" $target.datasource) }}
{{- end }}
{{- range $inner := $panel.panels | default list }}
{{- $refs = append $refs (dict "where" (printf "panel %q" ($inner.title | default "")) "ds" $inner.datasource) }}
{{- range $target := $inner.targets | default list }}
{{- $where := printf "a target of panel %q" ($inner.title | default "") }}
{{- $refs = append $refs (dict "where" $where "ds" $target.datasource) }}
{{- end }}
{{- end }}
{{- end }}
{{- range $variable := (($dashboard.templating | default dict).list | default list) }}
{{- if eq $variable.type "query" }}
{{- $refs = append $refs (dict "where" (printf "variable %q" $variable.name) "ds" $variable.datasource) }}
{{- end }}
{{- end }}
{{- range $ref := $refs }}
{{- if $ref.ds }}
{{- if not (kindIs "map" $ref.ds) }}
{{- fail (printf "dashboard %s: %s references a datasource by name; use {\"type\": ..., \"uid\": ...}"
  $.name $ref.where) }}
{{- end }}
{{- if and (ne (toString $ref.ds.uid) "-- Mixed --") (not (has $ref.ds.uid $allowed)) }}
{{- fail (printf "dashboard %s: %s references datasource uid %q; allowed uids are %s"
  $.name $ref.where (toString $ref.ds.uid) (join ", " $allowed)) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
All dashboards as a filename → JSON map: the chart's files plus dashboards.extra, each validated, then fitted to the
trace backend. The dashboards are written for Tempo (uid "tempo"): with Tempo they are shipped as written; with
Jaeger each trace panel is rewritten for the Jaeger datasource (grafana.jaegerPanel); with no trace datasource the
trace panels are left out, so no panel shows "datasource not found".
*/}}
{{- define "grafana.dashboards" -}}
{{- $traces := .Values.datasources.traces }}
{{- $all := dict }}
{{- range $path, $content := .Files.Glob "dashboards/*.json" }}
{{- $_ := set $all (base $path) (toString $content) }}
{{- end }}
{{- range $name, $content := .Values.dashboards.extra }}
{{- $_ := set $all $name $content }}
{{- end }}
{{- range $name, $content := $all }}
{{- include "grafana.validateDashboard" (dict "name" $name "content" $content "tracesType" $traces.type) }}
{{- if or (not $traces.enabled) (eq $traces.type "jaeger") }}
{{- $dashboard := fromJson $content }}
{{- $panels := list }}
{{- range $panel := $dashboard.panels | default list }}
{{- $panel = include "grafana.tracePanel" (dict "name" $name "panel" $panel "traces" $traces) | fromJson }}
{{- if $panel }}
{{- if $panel.panels }}
{{- $inner := list }}
{{- range $p := $panel.panels }}
{{- $p = include "grafana.tracePanel" (dict "name" $name "panel" $p "traces" $traces) | fromJson }}
{{- if $p }}{{ $inner = append $inner $p }}{{ end }}
{{- end }}
{{- $_ := set $panel "panels" $inner }}
{{- end }}
{{- $panels = append $panels $panel }}
{{- end }}
{{- end }}
{{- $_ := set $dashboard "panels" $panels }}
{{- $_ := set $all $name (toRawJson $dashboard) }}
{{- end }}
{{- end }}
{{- toYaml $all }}
{{- end }}

{{/*
One panel (dict "name" "panel" "traces") as JSON: unchanged unless it queries the Tempo datasource; then "{}" when
there is no trace datasource, or the Jaeger equivalent. An empty result drops the panel.
*/}}
{{- define "grafana.tracePanel" -}}
{{- $panel := .panel }}
{{- $tempo := false }}
{{- if and (kindIs "map" $panel.datasource) (eq (toString $panel.datasource.uid) "tempo") }}{{ $tempo = true }}{{ end }}
{{- range $target := $panel.targets | default list }}
{{- if and (kindIs "map" $target.datasource) (eq (toString $target.datasource.uid) "tempo") }}{{ $tempo = true }}{{ end }}
{{- end }}
{{- if not $tempo }}
{{- toJson $panel }}
{{- else if not .traces.enabled }}
{{- "{}" }}
{{- else }}
{{- include "grafana.jaegerPanel" (dict "name" .name "panel" $panel) }}
{{- end }}
{{- end }}

{{/*
A Tempo panel rewritten for the Jaeger datasource (uid "jaeger"), as JSON. The queries the dashboards use have
Jaeger equivalents: the service map becomes Jaeger's dependency graph (computed by Jaeger from the stored traces),
and a TraceQL search by service, optionally for failed spans only, becomes a Jaeger search by service with the tag
error=true. Anything else fails the render with the panel's name rather than shipping a panel that cannot work.
*/}}
{{- define "grafana.jaegerPanel" -}}
{{- $jaeger := dict "type" "jaeger" "uid" "jaeger" }}
{{- $panel := .panel }}
{{- $targets := list }}
{{- range $target := $panel.targets | default list }}
{{- $out := dict "datasource" $jaeger "refId" ($target.refId | default "A") }}
{{- if eq (toString $target.queryType) "serviceMap" }}
{{- $_ := set $out "queryType" "dependencyGraph" }}
{{- $_ := set $panel "description" "Jaeger's dependency graph, computed from the stored traces. The service-graph panels below come from the Collector's metrics." }}
{{- else if eq (toString $target.queryType) "traceql" }}
{{- $query := toString $target.query }}
{{- $match := regexFind `^\{\s*resource\.service\.name\s*=\s*"[^"]+"\s*(&&\s*status\s*=\s*error\s*)?\}$` $query }}
{{- if not $match }}
{{- fail (printf "dashboard %s: panel %q queries TraceQL %q, which has no Jaeger equivalent here (only {resource.service.name=\"...\"} and {... && status=error}); set datasources.traces.type=tempo or change the panel" $.name ($panel.title | default "") $query) }}
{{- end }}
{{- $service := regexReplaceAll `^\{\s*resource\.service\.name\s*=\s*"([^"]+)".*$` $query "${1}" }}
{{- $_ := set $out "queryType" "search" }}
{{- $_ := set $out "service" $service }}
{{- if contains "status" $query }}{{ $_ := set $out "tags" "error=true" }}{{ end }}
{{- with $target.limit }}{{ $_ := set $out "limit" . }}{{ end }}
{{- else }}
{{- fail (printf "dashboard %s: panel %q has a Tempo query of type %q, which has no Jaeger equivalent here" $.name ($panel.title | default "") (toString $target.queryType)) }}
{{- end }}
{{- $targets = append $targets $out }}
{{- end }}
{{- $_ := set $panel "datasource" $jaeger }}
{{- $_ := set $panel "targets" $targets }}
{{- toJson $panel }}
{{- end }}
