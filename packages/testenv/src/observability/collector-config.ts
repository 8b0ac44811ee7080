import { dump, load } from 'js-yaml';
import { freePort } from '../process/ports.js';

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(map: YamlMap, key: string): YamlMap {
  const value = map[key];
  if (isMap(value)) return value;
  const created: YamlMap = {};
  map[key] = created;
  return created;
}

/** `host:port` of a listen address as the charts write them (`0.0.0.0:4317`, `:4317`, `${env:POD_IP}:4317`). */
const LISTEN_ADDRESS = /^(.*):(\d+)$/;

/** A Collector-style configuration moved from a pod to this machine (see localCollectorConfig). */
export interface LocalCollectorConfig {
  /** The configuration to run, as YAML. */
  yaml: string;
  /** Each port the chart's pod listens on → the free port on 127.0.0.1 that replaces it here. */
  ports: ReadonlyMap<number, number>;
}

/**
 * The configuration an OpenTelemetry Collector (or Jaeger v2, which is one) gets from its chart, adapted to run as a
 * local process. Exactly these differences, nothing else:
 * - every server address (the `endpoint` of a receiver or an extension) binds 127.0.0.1 on a free port, so parallel
 *   runs do not collide; the map of chart port → local port is returned;
 * - the process's own metrics (`service.telemetry.metrics`) are served on 127.0.0.1 on a free port, under the port
 *   the chart uses (8888 when it sets none), instead of the Collector's fixed default;
 * - every exporter `endpoint` (an in-cluster Service address) goes through `resolve`, which names the local process
 *   standing in for that Service; an address it does not know is an error, not a silent drop.
 */
export async function localCollectorConfig(
  chartYaml: string,
  resolve: (endpoint: string) => string,
  /** Chart ports whose local port the caller chose already (e.g. to tell a sender that starts first). */
  chosenPorts: ReadonlyMap<number, number> = new Map(),
): Promise<LocalCollectorConfig> {
  const config = load(chartYaml);
  if (!isMap(config)) throw new Error('the chart rendered a collector configuration that is not a map');
  const ports = new Map<number, number>(chosenPorts);
  const localPortFor = async (chartPort: number): Promise<number> => {
    const known = ports.get(chartPort);
    if (known !== undefined) return known;
    const port = await freePort();
    ports.set(chartPort, port);
    return port;
  };
  const relocateListeners = async (node: unknown): Promise<void> => {
    if (Array.isArray(node)) {
      for (const item of node) await relocateListeners(item);
      return;
    }
    if (!isMap(node)) return;
    for (const [key, value] of Object.entries(node)) {
      const match = typeof value === 'string' ? LISTEN_ADDRESS.exec(value) : null;
      if (key === 'endpoint' && match !== null) {
        node[key] = `127.0.0.1:${await localPortFor(Number(match[2]))}`;
      } else {
        await relocateListeners(value);
      }
    }
  };
  const resolveExporters = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) resolveExporters(item);
      return;
    }
    if (!isMap(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'endpoint' && typeof value === 'string') node[key] = resolve(value);
      else resolveExporters(value);
    }
  };
  await relocateListeners(config.receivers);
  await relocateListeners(config.extensions);
  resolveExporters(config.exporters);

  const metrics = child(child(child(config, 'service'), 'telemetry'), 'metrics');
  const readers = Array.isArray(metrics.readers) ? (metrics.readers as unknown[]) : [];
  const chartPrometheus = readers
    .map((r) => (isMap(r) ? r : {}))
    .map((r) => (r.pull as YamlMap | undefined)?.exporter as YamlMap | undefined)
    .map((e) => e?.prometheus as YamlMap | undefined)
    .find((p) => p !== undefined);
  const chartMetricsPort = Number(chartPrometheus?.port ?? 8888);
  if (metrics.level !== 'none') {
    metrics.readers = [
      {
        pull: {
          exporter: {
            prometheus: { host: '127.0.0.1', port: await localPortFor(chartMetricsPort) },
          },
        },
      },
    ];
  }
  return { yaml: dump(config, { lineWidth: -1 }), ports };
}
