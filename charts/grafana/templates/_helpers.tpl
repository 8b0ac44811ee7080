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

{{- define "grafana.tempoUrl" -}}
{{- .Values.datasources.tempo.url | default (printf "http://%s-tempo:3200" .Release.Name) }}
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
All dashboards as a filename → JSON map: the chart's files plus dashboards.extra, each validated.
*/}}
{{- define "grafana.dashboards" -}}
{{- $all := dict }}
{{- range $path, $content := .Files.Glob "dashboards/*.json" }}
{{- $_ := set $all (base $path) (toString $content) }}
{{- end }}
{{- range $name, $content := .Values.dashboards.extra }}
{{- $_ := set $all $name $content }}
{{- end }}
{{- range $name, $content := $all }}
{{- include "grafana.validateDashboard" (dict "name" $name "content" $content) }}
{{- end }}
{{- toYaml $all }}
{{- end }}
