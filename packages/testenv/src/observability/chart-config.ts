import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import { defaultBinDir } from '../controlplane/control-plane.js';
import { makeTempDir, removeTempDir } from '../dataplane/temp-dirs.js';

const execFileAsync = promisify(execFile);

/** The repository's charts/ directory, seen from src/observability/ and dist/observability/ alike. */
export function defaultChartsDir(): string {
  return process.env.OBSDEMO_CHARTS_DIR ?? fileURLToPath(new URL('../../../../charts/', import.meta.url));
}

export interface ChartRenderRequest {
  /** Folder name under the charts directory, e.g. "tempo". */
  chart: string;
  /** Values passed to `helm template` as a values file. */
  values: Record<string, unknown>;
  /** Template paths relative to the chart, e.g. "templates/configmap.yaml". */
  templates: readonly string[];
  chartsDir?: string;
  helmBinary?: string;
}

interface RenderedObject {
  kind?: unknown;
  data?: Record<string, string>;
  spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } };
}

/** The objects of one chart as the real `helm template` renders them. */
export interface RenderedChart {
  readonly chart: string;
  readonly objects: readonly RenderedObject[];
}

/**
 * Renders templates of one of our charts with the real `helm template`. Local processes take their configuration
 * from the chart's ConfigMap and their flags from its workload, so there is one source of both: the chart.
 */
export async function renderChart(request: ChartRenderRequest): Promise<RenderedChart> {
  const chartDir = join(request.chartsDir ?? defaultChartsDir(), request.chart);
  const helm = request.helmBinary ?? join(defaultBinDir(), 'helm');
  const dir = makeTempDir(`obsdemo-${request.chart}-values-`);
  try {
    // JSON is YAML, so the values need no YAML writer.
    const valuesFile = join(dir, 'values.json');
    writeFileSync(valuesFile, JSON.stringify(request.values));
    const args = ['template', 'local', chartDir, '--namespace', 'local', '-f', valuesFile];
    for (const template of request.templates) args.push('--show-only', template);
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(helm, args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }));
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(
        `helm template ${request.chart} failed: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        { cause: error },
      );
    }
    const objects = loadAll(stdout).filter(
      (doc): doc is RenderedObject => typeof doc === 'object' && doc !== null,
    );
    return { chart: request.chart, objects };
  } finally {
    removeTempDir(dir);
  }
}

/** The `key` entry of the chart's rendered ConfigMap. */
export function configMapEntry(rendered: RenderedChart, key: string): string | undefined {
  const configMap = rendered.objects.find((o) => o.kind === 'ConfigMap');
  if (configMap === undefined) throw new Error(`${rendered.chart}: the chart rendered no ConfigMap`);
  return configMap.data?.[key];
}

/** The args of container `name` in the chart's rendered StatefulSet or Deployment. */
export function containerArgs(rendered: RenderedChart, name: string): string[] {
  for (const o of rendered.objects) {
    if (o.kind !== 'StatefulSet' && o.kind !== 'Deployment') continue;
    const container = o.spec?.template?.spec?.containers?.find((c) => c.name === name);
    if (container !== undefined) return container.args ?? [];
  }
  throw new Error(`${rendered.chart}: the chart rendered no workload with a container named "${name}"`);
}

/**
 * Replaces the value of each `flag=value` arg whose flag is a key of `replacements`, and fails if the chart no
 * longer passes one of them: a renamed flag must not silently fall back to a default.
 */
export function replaceFlagValues(
  chart: string,
  args: readonly string[],
  replacements: Readonly<Record<string, string>>,
): string[] {
  const seen = new Set<string>();
  const out = args.map((arg) => {
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const value = replacements[flag];
    if (value === undefined) return arg;
    seen.add(flag);
    return `${flag}=${value}`;
  });
  const missing = Object.keys(replacements).filter((flag) => !seen.has(flag));
  if (missing.length > 0)
    throw new Error(`${chart}: the chart's container no longer passes ${missing.join(', ')}`);
  return out;
}
