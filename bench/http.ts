// HTTP benchmarks against the built services (`npx tsc -b tsconfig.build.json` first):
//  - catalog GET /products/:id with full telemetry (preload + OTLP export to a local sink that discards spans), every
//    request traced and head-sampled (--sampled-ratio), versus the same build with telemetry off, versus a bare
//    Express + pg handler (bench/baseline-server.ts), each with and without catalog's read cache:
//    throughput at saturation with fixed connections, and latency at a fixed 200 rps;
//  - gateway → catalog versus catalog directly: latency at a fixed moderate rate.
// The machine is shared, so variants are measured side by side: every round runs each variant once, in a
// rotated order, and the figures are medians over rounds.
// Every server process (each catalog variant, the baseline, the gateway) runs in its own memory cgroup limited
// to the chart's default profile (small: 256Mi), as in its pod: Node then sizes V8's heap from the limit, so the
// peak RSS is what the pod would hold, not what V8 lets pile up on a 24 GB host. `--memory-limit none` runs them
// unconstrained, as before 2026-12-07. The servers run with the V8 flags of the services' images
// (SERVICE_NODE_FLAGS, `--max-semi-space-size=16`), the baseline too.
// Usage: node bench/http.ts [--rounds 3] [--duration 10] [--connections 20] [--rate 200] [--sampled-ratio 0.1]
//        [--memory-limit 256Mi|none] [--out FILE]
//        [--profile-dir DIR]   every catalog variant, the baseline and gateway under `node --cpu-prof`, profiles written
//                              there on exit (a profiled run is for finding costs, not for figures)
import {
  ManagedProcess,
  freePort,
  startNats,
  startPostgres,
  SERVICE_NODE_FLAGS,
  startServiceProcess,
  waitUntilReady,
  type NatsServer,
  type PostgresServer,
  type ServiceProcess,
} from '@obsdemo/testenv';
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeLoad, loadBefore } from './machine.ts';
import { createMemoryCgroup, joinAndExec, quantityBytes, type MemoryCgroup } from './memory-cgroup.ts';
import { mainThreadCpuSeconds, processCpuSeconds, processRssMb } from './proc-stat.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' },
    'gateway-rate': { type: 'string', default: '100' },
    // A head-sampled variant beside "every request traced", to show what sampling buys.
    'sampled-ratio': { type: 'string', default: '0.1' },
    // The chart's default profile's limit, read from charts/demo-services when not given.
    'memory-limit': { type: 'string' },
    out: { type: 'string', default: join(repoRoot, '.tmp/bench/http.json') },
    'profile-dir': { type: 'string' },
  },
});
const ROUNDS = Number(args.rounds);
const DURATION_S = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const RATE = Number(args.rate);
const GATEWAY_RATE = Number(args['gateway-rate']);
const SAMPLED_RATIO = Number(args['sampled-ratio']);

/** The CR's default `spec.observability.tracing.samplingRatio`, read from the CRD the operator installs. */
function crdDefaultSamplingRatio(): number {
  const crd = readFileSync(join(repoRoot, 'crds/obsdemo.dev_observabilitydemos.yaml'), 'utf8');
  const match = /\n(\s+)samplingRatio:\n(?:\1\s+.*\n)*?\1\s+default: ([\d.]+)\n/.exec(crd);
  if (!match?.[2]) throw new Error('no default samplingRatio in the CRD');
  return Number(match[2]);
}
const DEFAULT_RATIO = crdDefaultSamplingRatio();

/** The memory limit of the demo services' "small" profile (the CR's default `spec.profile`), from the chart. */
function chartDefaultMemoryLimit(): string {
  const helpers = readFileSync(join(repoRoot, 'charts/demo-services/templates/_helpers.tpl'), 'utf8');
  const match = /"small" \(dict "requests" .*?"limits" \(dict "memory" "(\w+)"\)/.exec(helpers);
  if (!match?.[1]) throw new Error("no memory limit in the demo-services chart's small profile");
  return match[1];
}
const MEMORY_LIMIT = args['memory-limit'] ?? chartDefaultMemoryLimit();
/** Each server's own memory cgroup, by the name it was started under; none with `--memory-limit none`. */
const cgroups = new Map<string, MemoryCgroup>();
let cgroupUnavailable: string | undefined;
function launchLimited(name: string): ((command: string, args: string[]) => [string, string[]]) | undefined {
  if (MEMORY_LIMIT === 'none') return undefined;
  const cgroup = createMemoryCgroup(
    `obsdemo-bench-http-${process.pid}-${cgroups.size}`,
    quantityBytes(MEMORY_LIMIT),
  );
  if (typeof cgroup === 'string') {
    if (cgroupUnavailable === undefined) console.warn(`the servers run without a memory limit: ${cgroup}`);
    cgroupUnavailable = cgroup;
    return undefined;
  }
  cgroups.set(name, cgroup);
  return (command, commandArgs) => joinAndExec(cgroup, command, commandArgs);
}
// Absolute: the services run with their workspace as the working directory.
const PROFILE_DIR = args['profile-dir'] === undefined ? undefined : resolve(args['profile-dir']);
const profileArgs = (name: string): string[] =>
  PROFILE_DIR === undefined
    ? []
    : // One folder per process: each thread (the loader hooks have their own) writes a profile there.
      ['--cpu-prof', `--cpu-prof-dir=${join(PROFILE_DIR, name)}`];
const PRODUCT_IDS = Array.from({ length: 12 }, (_, i) => i + 1);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};
const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** The memory cgroup `pid` runs in, with the highest charge and the kills for the limit so far. */
function memoryCgroupOf(pid: number): { cgroupPeakMb?: number; oomKills?: number } {
  for (const cgroup of cgroups.values()) {
    const procs = readFileSync(cgroup.procsFile, 'utf8').split('\n');
    if (!procs.includes(String(pid))) continue;
    const peak = cgroup.peakBytes();
    return {
      ...(peak === undefined ? {} : { cgroupPeakMb: Math.round(peak / 2 ** 20) }),
      oomKills: cgroup.oomKills(),
    };
  }
  return {};
}

/** The pid listening on a loopback port, to read a server's CPU time from /proc. */
function pidOnPort(port: number): number {
  const match = /pid=(\d+)/.exec(execFileSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8' }));
  if (!match?.[1]) throw new Error(`no process listens on port ${port}`);
  return Number(match[1]);
}

/**
 * User + system CPU seconds the processes have used so far. CPU per request does not depend on how much of the
 * shared machine the other work left us, unlike req/s, so it is the steadier figure for the overhead.
 */
function cpuSeconds(pids: number[]): { all: number; main: number } {
  return pids.reduce(
    (total, pid) => ({
      all: total.all + processCpuSeconds(pid),
      main: total.main + mainThreadCpuSeconds(pid),
    }),
    { all: 0, main: 0 },
  );
}

/** CPU per request (µs) between two readings, in all and in the servers' other threads. */
function cpuPerRequest(
  before: ReturnType<typeof cpuSeconds>,
  after: ReturnType<typeof cpuSeconds>,
  requests: number,
): Pick<LoadResult, 'cpuUsPerReq' | 'otherThreadsUsPerReq'> {
  const all = after.all - before.all;
  return {
    cpuUsPerReq: (all * 1e6) / requests,
    otherThreadsUsPerReq: ((all - (after.main - before.main)) * 1e6) / requests,
  };
}

/** An OTLP/HTTP receiver that reads and discards every export, so the exporter's cost is real. */
async function startOtlpSink(): Promise<{
  url: string;
  stats: { requests: number; bytes: number };
  server: Server;
}> {
  const stats = { requests: 0, bytes: 0 };
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (stats.bytes += chunk.length));
    req.on('end', () => {
      stats.requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, server };
}

interface LoadResult {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  failures: number;
  /** CPU time of the server process(es) per request, in microseconds. */
  cpuUsPerReq: number;
  /**
   * The part of cpuUsPerReq spent outside the servers' main threads, where JavaScript runs: V8's garbage collection
   * and compiler threads, libuv's pool, and any other thread node starts (such as off-thread loader hooks).
   */
  otherThreadsUsPerReq: number;
}

/** Saturation: one autocannon run with fixed connections, each sending its next request when the last returns. */
async function saturate(
  url: string,
  pids: number[],
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  const samples: number[] = [];
  const cpuBefore = cpuSeconds(pids);
  const base = new URL(url);
  const prefix = base.pathname.replace(/\/$/, '');
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: base.origin,
        connections,
        duration: seconds,
        requests: PRODUCT_IDS.map((id) => ({ method: 'GET', path: `${prefix}/products/${id}` })),
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
  const cpu = cpuPerRequest(cpuBefore, cpuSeconds(pids), result.requests.total);
  samples.sort((a, b) => a - b);
  return {
    ...cpu,
    rps: result.requests.average,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

/**
 * A fixed rate, open loop: request i is due at start + i / rate, whatever happened to the ones before it, over at
 * most `connections` kept-alive sockets (a request due while all are busy waits for one). Latency is counted from
 * the moment a request was due, so a slow server is not hidden by sending less (no coordinated omission).
 * autocannon's `overallRate` is not used here: each of its connections sends its share of a second's requests
 * back to back at the start of every second and then idles, so "100 rps" would be bursts of 100 at concurrency
 * 10, and latency would measure the queue in each burst.
 */
async function paced(
  url: string,
  pids: number[],
  seconds: number,
  connections: number,
  rate: number,
): Promise<LoadResult> {
  const base = new URL(url);
  const prefix = base.pathname.replace(/\/$/, '');
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.round(seconds * rate);
  const intervalMs = 1000 / rate;
  const samples: number[] = [];
  let failures = 0;
  const cpuBefore = cpuSeconds(pids);
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let finished = 0;
    const done = (due: number, ok: boolean) => {
      samples.push(performance.now() - due);
      if (!ok) failures++;
      if (++finished === total) resolve();
    };
    const send = (i: number, due: number) => {
      const id = PRODUCT_IDS[i % PRODUCT_IDS.length]!;
      const request = httpGet(
        { host: base.hostname, port: base.port, path: `${prefix}/products/${id}`, agent },
        (response) => {
          response.resume();
          response.on('end', () => done(due, (response.statusCode ?? 0) < 300));
          response.on('error', () => done(due, false));
        },
      );
      request.on('error', () => done(due, false));
    };
    const tick = () => {
      const now = performance.now();
      for (; sent < total && t0 + sent * intervalMs <= now; sent++) send(sent, t0 + sent * intervalMs);
      if (sent < total) setTimeout(tick, Math.max(0, t0 + sent * intervalMs - performance.now()));
    };
    tick();
  });
  const elapsedS = (performance.now() - t0) / 1000;
  agent.destroy();
  const cpu = cpuPerRequest(cpuBefore, cpuSeconds(pids), total);
  samples.sort((a, b) => a - b);
  return {
    ...cpu,
    rps: total / elapsedS,
    p50: percentile(samples, 50),
    p95: percentile(samples, 95),
    p99: percentile(samples, 99),
    failures,
  };
}

/** `rate` undefined = saturation; else the fixed, evenly paced rate. Latencies in ms. */
function load(
  url: string,
  pids: number[],
  seconds: number,
  connections: number,
  rate?: number,
): Promise<LoadResult> {
  return rate === undefined
    ? saturate(url, pids, seconds, connections)
    : paced(url, pids, seconds, connections, rate);
}

interface Variant {
  name: string;
  /** Base URL that serves GET <base>/products/:id. */
  url: string;
  /** The processes that serve it. */
  pids: number[];
}

/** Runs `measure` for every variant in every round, rotating the order so no variant always goes first. */
async function rounds<T>(
  variants: Variant[],
  measure: (v: Variant) => Promise<T>,
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < variants.length; i++) {
      const v = variants[(i + r) % variants.length]!;
      const result = await measure(v);
      out.get(v.name)!.push(result);
      console.log(`  round ${r + 1} ${v.name}: ${JSON.stringify(result)}`);
    }
  }
  return out;
}

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) await fn().catch((error: unknown) => console.error(String(error)));
}

async function main(): Promise<void> {
  const machine = loadBefore();
  console.log(describeLoad(machine));
  if (PROFILE_DIR !== undefined) mkdirSync(PROFILE_DIR, { recursive: true });
  const pg: PostgresServer = await startPostgres();
  cleanups.push(() => pg.stop());
  const nats: NatsServer = await startNats();
  cleanups.push(() => nats.dispose());
  const sink = await startOtlpSink();
  cleanups.push(() => new Promise((resolve) => sink.server.close(resolve)));
  // Registered before any server starts, so it runs after they have all stopped.
  cleanups.push(async () => {
    for (const cgroup of cgroups.values()) {
      try {
        cgroup.remove();
      } catch (error) {
        console.warn(`could not remove ${cgroup.dir}: ${(error as Error).message}`);
      }
    }
  });
  await pg.createDatabase('catalog');
  const db = {
    DB_HOST: pg.host,
    DB_PORT: String(pg.port),
    DB_NAME: 'catalog',
    DB_USER: pg.user,
    DB_PASSWORD: pg.password,
  };
  // Access logs would measure winston rather than tracing, so every variant logs warnings only.
  const catalogEnv = { CATALOG_HOST: '127.0.0.1', ...db, NATS_URL: nats.url, LOG_LEVEL: 'warn' };
  const telemetryOn = (ratio: number) => ({
    OTEL_SERVICE_NAME: 'catalog',
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  });

  const start = async (name: string, spec: Parameters<typeof startServiceProcess>[0]) => {
    const proc: ServiceProcess = await startServiceProcess({ ...spec, launch: launchLimited(name) });
    cleanups.push(() => proc.stop());
    console.log(`started ${name} at ${proc.url} (log ${proc.logFile})`);
    return proc;
  };
  // catalog caches products in process (CACHE_ENABLED, on by default), so it runs with and without the cache:
  // with it, as deployed; without it, doing the same query per request as the baseline.
  // telemetry: the sampling ratio with the preload on, or false for the build without it.
  const startCatalog = (telemetry: number | false, cache: boolean) => {
    const name = `catalog-${cache ? 'cache' : 'nocache'}-telemetry-${telemetry === false ? 'off' : telemetry === 1 ? 'on' : `sampled-${telemetry}`}`;
    return start(name, {
      service: 'catalog',
      portEnv: 'CATALOG_PORT',
      nodeArgs: [
        ...profileArgs(name),
        ...(telemetry === false ? [] : ['--import', '@obsdemo/telemetry/register']),
      ],
      env: {
        ...catalogEnv,
        CACHE_ENABLED: String(cache),
        ...(telemetry === false ? { OTEL_SDK_DISABLED: 'true' } : telemetryOn(telemetry)),
      },
    });
  };
  const withTelemetry = await startCatalog(1, true);
  const withoutTelemetry = await startCatalog(false, true);
  const noCacheWithTelemetry = await startCatalog(1, false);
  const noCacheWithoutTelemetry = await startCatalog(false, false);
  const sampled = await startCatalog(SAMPLED_RATIO, true);
  const noCacheSampled = await startCatalog(SAMPLED_RATIO, false);

  const baselinePort = await freePort();
  const logDir = mkdtempSync(join(tmpdir(), 'obsdemo-bench-'));
  cleanups.push(async () => rmSync(logDir, { recursive: true, force: true }));
  const [baselineCommand, baselineArgs] = (launchLimited('baseline') ?? ((c, a) => [c, a]))(
    process.execPath,
    // Under the same limit and with the same V8 flags as the services, so that only the code differs.
    [...SERVICE_NODE_FLAGS, ...profileArgs('baseline'), join(repoRoot, 'bench/baseline-server.ts')],
  );
  const baseline = ManagedProcess.start({
    name: 'baseline',
    command: baselineCommand,
    args: baselineArgs,
    env: { PATH: process.env.PATH ?? '', ...db, PORT: String(baselinePort) },
    logFile: join(logDir, 'baseline.log'),
  });
  cleanups.push(() => baseline.stop());
  const baselineUrl = `http://127.0.0.1:${baselinePort}`;
  await waitUntilReady(baseline, 'ready', async () => (await fetch(`${baselineUrl}/ready`)).ok);

  const variants: Variant[] = [
    { name: 'catalog, telemetry on', url: withTelemetry.url, pids: [pidOnPort(withTelemetry.port)] },
    { name: 'catalog, telemetry off', url: withoutTelemetry.url, pids: [pidOnPort(withoutTelemetry.port)] },
    {
      name: 'catalog no cache, telemetry on',
      url: noCacheWithTelemetry.url,
      pids: [pidOnPort(noCacheWithTelemetry.port)],
    },
    {
      name: 'catalog no cache, telemetry off',
      url: noCacheWithoutTelemetry.url,
      pids: [pidOnPort(noCacheWithoutTelemetry.port)],
    },
    { name: 'baseline express+pg', url: baselineUrl, pids: [pidOnPort(baselinePort)] },
    { name: 'catalog, telemetry sampled', url: sampled.url, pids: [pidOnPort(sampled.port)] },
    {
      name: 'catalog no cache, telemetry sampled',
      url: noCacheSampled.url,
      pids: [pidOnPort(noCacheSampled.port)],
    },
  ];
  console.log('warm-up: 3 s at saturation per variant');
  for (const v of variants) await load(v.url, v.pids, 3, CONNECTIONS);

  console.log(`saturation: ${CONNECTIONS} connections, ${DURATION_S} s, ${ROUNDS} rounds`);
  const exportsBefore = { ...sink.stats };
  const saturation = await rounds(variants, (v) => load(v.url, v.pids, DURATION_S, CONNECTIONS));
  console.log(`fixed rate: ${RATE} rps, 10 connections, ${DURATION_S} s, ${ROUNDS} rounds`);
  const fixed = await rounds(variants, (v) => load(v.url, v.pids, DURATION_S, 10, RATE));
  const exported = {
    requests: sink.stats.requests - exportsBefore.requests,
    bytes: sink.stats.bytes - exportsBefore.bytes,
  };

  const summary = (runs: LoadResult[]) => ({
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p95: median(runs.map((r) => r.p95)),
    p99: median(runs.map((r) => r.p99)),
    failures: runs.reduce((n, r) => n + r.failures, 0),
    cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)),
    otherThreadsUsPerReq: median(runs.map((r) => r.otherThreadsUsPerReq)),
    runs: runs.map((r) => Math.round(r.rps)),
  });
  const catalog = Object.fromEntries(
    variants.map((v) => [
      v.name,
      {
        saturation: summary(saturation.get(v.name)!),
        fixed: summary(fixed.get(v.name)!),
        // Peak resident memory over the whole run (start-up, warm-up, saturation and fixed rate), the server only.
        peakRssMb: Math.round(processRssMb(v.pids[0]!).peak),
        ...memoryCgroupOf(v.pids[0]!),
      },
    ]),
  );
  // The ratio is taken per round (the two variants ran back to back) and then the median of those.
  const ratio = (on: string, off: string) => {
    const offRuns = saturation.get(off)!;
    return median(saturation.get(on)!.map((run, i) => run.rps / (offRuns[i]?.rps ?? NaN)));
  };
  // The same ratio from CPU per request: what a CPU-bound process keeps, whatever share of the machine it got.
  const cpuRatio = (on: string, off: string) => {
    const offRuns = saturation.get(off)!;
    return median(saturation.get(on)!.map((run, i) => (offRuns[i]?.cpuUsPerReq ?? NaN) / run.cpuUsPerReq));
  };

  let gateway: Record<string, unknown> = {
    measured: false,
    reason: 'services/gateway/dist/main.js not built',
  };
  if (existsSync(join(repoRoot, 'services/gateway/dist/main.js'))) {
    const gw = await start('gateway (telemetry on) → catalog (telemetry on)', {
      service: 'gateway',
      portEnv: 'GATEWAY_PORT',
      nodeArgs: [...profileArgs('gateway'), '--import', '@obsdemo/telemetry/register'],
      env: {
        GATEWAY_HOST: '127.0.0.1',
        CATALOG_URL: withTelemetry.url,
        // The benchmark is one client; the per-client limit would turn it into a 429 benchmark.
        RATE_LIMIT_RPS: '1000000',
        RATE_LIMIT_BURST: '0',
        LOG_LEVEL: 'warn',
        ...telemetryOn(1),
        OTEL_SERVICE_NAME: 'gateway',
      },
    });
    const gwVariants: Variant[] = [
      {
        name: 'via gateway',
        url: `${gw.url}/api/v1/catalog`,
        pids: [pidOnPort(gw.port), pidOnPort(withTelemetry.port)],
      },
      { name: 'catalog direct', url: withTelemetry.url, pids: [pidOnPort(withTelemetry.port)] },
    ];
    for (const v of gwVariants) await load(v.url, v.pids, 3, 10, GATEWAY_RATE);
    console.log(`gateway: fixed ${GATEWAY_RATE} rps, 10 connections, ${DURATION_S} s, ${ROUNDS} rounds`);
    const gwRuns = await rounds(gwVariants, (v) => load(v.url, v.pids, DURATION_S, 10, GATEWAY_RATE));
    const via = gwRuns.get('via gateway')!;
    const direct = gwRuns.get('catalog direct')!;
    gateway = {
      measured: true,
      rate: GATEWAY_RATE,
      via: summary(via),
      direct: summary(direct),
      p50DeltaMs: median(via.map((v, i) => v.p50 - (direct[i]?.p50 ?? NaN))),
    };
  }

  const result = {
    loadBefore: machine,
    settings: {
      rounds: ROUNDS,
      durationS: DURATION_S,
      connections: CONNECTIONS,
      rate: RATE,
      sampledRatio: SAMPLED_RATIO,
      defaultSamplingRatio: DEFAULT_RATIO,
      memoryLimit:
        cgroups.size > 0
          ? { applied: true as const, limit: MEMORY_LIMIT }
          : {
              applied: false as const,
              reason: MEMORY_LIMIT === 'none' ? '--memory-limit none' : cgroupUnavailable,
            },
    },
    catalog,
    telemetryThroughputRatio: ratio('catalog, telemetry on', 'catalog, telemetry off'),
    telemetryThroughputRatioNoCache: ratio(
      'catalog no cache, telemetry on',
      'catalog no cache, telemetry off',
    ),
    telemetryCpuRatio: cpuRatio('catalog, telemetry on', 'catalog, telemetry off'),
    telemetryCpuRatioNoCache: cpuRatio('catalog no cache, telemetry on', 'catalog no cache, telemetry off'),
    sampledThroughputRatio: ratio('catalog, telemetry sampled', 'catalog, telemetry off'),
    sampledThroughputRatioNoCache: ratio(
      'catalog no cache, telemetry sampled',
      'catalog no cache, telemetry off',
    ),
    sampledCpuRatio: cpuRatio('catalog, telemetry sampled', 'catalog, telemetry off'),
    sampledCpuRatioNoCache: cpuRatio(
      'catalog no cache, telemetry sampled',
      'catalog no cache, telemetry off',
    ),
    baselineThroughputRatioNoCache: ratio('catalog no cache, telemetry off', 'baseline express+pg'),
    otlpExports: exported,
    gateway,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
}

try {
  await main();
} finally {
  await cleanup();
}
