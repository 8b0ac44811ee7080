export {
  defaultChartsDir,
  renderChart,
  type ChartRenderRequest,
  type RenderedChart,
} from './chart-config.js';
export {
  prometheusConfigFromChart,
  startPrometheus,
  type PrometheusOptions,
  type PrometheusServer,
  type ScrapeTarget,
  type VectorSample,
} from './prometheus.js';
export { localCollectorConfig, type LocalCollectorConfig } from './collector-config.js';
export {
  COLLECTOR_PORTS,
  startCollector,
  type CollectorOptions,
  type CollectorServer,
} from './otel-collector.js';
export { JAEGER_PORTS, startJaeger, type JaegerOptions, type JaegerServer } from './jaeger.js';
export { spansOf, type OtlpTracesJson, type TraceSpan } from './trace-json.js';
