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
export {
  startTempo,
  tempoConfigFromChart,
  type TempoLocalAddresses,
  type TempoOptions,
  type TempoServer,
  type TempoSpan,
} from './tempo.js';
