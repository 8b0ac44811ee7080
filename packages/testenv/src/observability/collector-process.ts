import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultBinDir } from '../controlplane/control-plane.js';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { makeTempDir, removeTempDir } from '../dataplane/temp-dirs.js';
import {
  configMapEntry,
  containerArgs,
  renderChart,
  replaceFlagValues,
  type RenderedChart,
} from './chart-config.js';
import { localCollectorConfig } from './collector-config.js';

const CONFIG_KEY = 'config.yaml';

/** One Collector-style program (our Collector, Jaeger v2) and the chart that configures its pod. */
export interface CollectorProcessSpec {
  /** Chart folder and its container's name, e.g. "jaeger". */
  chart: string;
  /** bin/<binary>, and how to build it when it is missing. */
  binary: string;
  buildHint: string;
  /** The chart's health endpoint: its pod port and path. */
  health: { port: number; path: string };
  /** Exporter endpoint (an in-cluster address) → its local stand-in. */
  resolve: (endpoint: string) => string;
  binaryPath?: string;
  chartValues?: Record<string, unknown>;
  rendered?: RenderedChart;
  chosenPorts?: ReadonlyMap<number, number>;
  chartsDir?: string;
  helmBinary?: string;
}

export interface CollectorProcess {
  /** The local port standing in for a port of the chart's pod; throws for one its config does not listen on. */
  port(chartPort: number): number;
  readonly ports: ReadonlyMap<number, number>;
  readonly pid: number | undefined;
  readonly configFile: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Runs a Collector-style program on 127.0.0.1 with the `config.yaml` and `--config` flag its chart gives the pod,
 * rendered with the real helm (or as already applied) and moved to this machine by localCollectorConfig; resolves
 * once its health endpoint answers.
 */
export async function startCollectorProcess(spec: CollectorProcessSpec): Promise<CollectorProcess> {
  const binary = spec.binaryPath ?? join(defaultBinDir(), spec.binary);
  if (!existsSync(binary)) throw new Error(`${binary} not found: run \`${spec.buildHint}\` to build it`);
  const rendered =
    spec.rendered ??
    (await renderChart({
      chart: spec.chart,
      values: spec.chartValues ?? {},
      templates: ['templates/configmap.yaml', 'templates/deployment.yaml'],
      chartsDir: spec.chartsDir,
      helmBinary: spec.helmBinary,
    }));
  const chartConfig = configMapEntry(rendered, CONFIG_KEY);
  if (chartConfig === undefined) throw new Error(`${spec.chart}: the chart rendered no ${CONFIG_KEY}`);
  const local = await localCollectorConfig(chartConfig, spec.resolve, spec.chosenPorts);
  const port = (chartPort: number): number => {
    const p = local.ports.get(chartPort);
    if (p === undefined) throw new Error(`${spec.chart}: the chart's config listens on no port ${chartPort}`);
    return p;
  };

  const dir = makeTempDir(`obsdemo-${spec.binary}-`);
  const configFile = join(dir, CONFIG_KEY);
  const logFile = join(dir, `${spec.binary}.log`);
  writeFileSync(configFile, local.yaml);
  const args = replaceFlagValues(spec.chart, containerArgs(rendered, spec.chart), { '--config': configFile });
  const proc = ManagedProcess.start({ name: spec.binary, command: binary, args, logFile, cwd: dir });
  const healthUrl = `http://127.0.0.1:${port(spec.health.port)}${spec.health.path}`;
  try {
    await waitUntilReady(proc, 'healthy', async () => (await fetch(healthUrl)).ok, 60_000, 250);
  } catch (error) {
    await proc.stop();
    removeTempDir(dir);
    throw error;
  }
  return {
    port,
    ports: local.ports,
    pid: proc.pid,
    configFile,
    logFile,
    async stop() {
      await proc.stop(10_000);
      removeTempDir(dir);
    },
  };
}
