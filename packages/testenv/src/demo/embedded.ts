import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { load } from 'js-yaml';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1ConfigMap,
  type V1Container,
  type V1PodTemplateSpec,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import { ControlPlane, defaultBinDir } from '../controlplane/control-plane.js';
import { startNats, type NatsServer } from '../dataplane/nats.js';
import { startPostgres, type PostgresServer } from '../dataplane/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../dataplane/service-process.js';
import { eventually } from '../jest/context.js';
import type { RenderedChart } from '../observability/chart-config.js';
import { startPrometheus, type PrometheusServer, type ScrapeTarget } from '../observability/prometheus.js';
import { COLLECTOR_PORTS, startCollector, type CollectorServer } from '../observability/otel-collector.js';
import { startJaeger, type JaegerServer } from '../observability/jaeger.js';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePort, freePorts } from '../process/ports.js';
import {
  localAddress,
  localEnv,
  scrapeEndpoint,
  type ContainerSpec,
  type LocalEndpoint,
  type ServiceAddressMap,
} from './translate.js';

const execFileAsync = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** Our services, in the order they start: each one's upstreams before it. */
export const DEMO_SERVICES = ['catalog', 'invoices', 'processor', 'gateway', 'loadgen'] as const;
export type DemoService = (typeof DEMO_SERVICES)[number];

const GROUP = 'obsdemo.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'observabilitydemos';
const NAME_LABEL = 'app.kubernetes.io/name';

export interface EmbeddedDemoOptions {
  /**
   * The ObservabilityDemo to apply; manifests/samples/local.yaml by default. Its trace backend must be jaeger (or
   * none) and its log backend none: Tempo and Loki have no local build (their modules are AGPL, which this project
   * does not build), so only Jaeger v2 can run here as a process, and logs stay in each process's log file.
   */
  sample?: string;
  /** Namespace of the demo (created with PodSecurity restricted); "demo" by default. */
  namespace?: string;
  /** Working directory for the control plane, logs and data; must exist and be empty or absent. */
  dir: string;
  /** Progress lines for a person watching. */
  log?: (line: string) => void;
  /** Aborting stops the start at the next step and stops what has started (e.g. Ctrl-C while it starts). */
  signal?: AbortSignal;
  /** Environment added to every service process (e.g. a shorter loadgen warm-up in tests). */
  serviceEnv?: Partial<Record<DemoService, Record<string, string>>>;
}

export interface EmbeddedDemo {
  /** The ObservabilityDemo's name. */
  readonly name: string;
  readonly namespace: string;
  readonly kubeconfig: string;
  readonly controlPlane: ControlPlane;
  readonly operatorLog: string;
  readonly postgres: PostgresServer;
  readonly nats: NatsServer;
  readonly prometheus: PrometheusServer;
  /** The OpenTelemetry Collector every service sends OTLP to. */
  readonly collector: CollectorServer;
  /** The trace store, when the CR's backend is jaeger. */
  readonly jaeger: JaegerServer | undefined;
  /** The services that the CR enables, as local processes (the current ones, after syncServices). */
  readonly services: ReadonlyMap<DemoService, ServiceProcess>;
  /**
   * Restarts each service whose Deployment the operator changed since its process started (e.g. after a CR edit),
   * with the new configuration, as a rollout would; returns the restarted ones.
   */
  syncServices(): Promise<DemoService[]>;
  /** Stops every process, newest first; the working directory stays (its logs are useful afterwards). */
  stop(): Promise<void>;
}

interface Workload {
  kind: 'Deployment' | 'StatefulSet';
  name: string;
  app: string;
  template: V1PodTemplateSpec;
}

function appOf(template: V1PodTemplateSpec): string | undefined {
  return template.metadata?.labels?.[NAME_LABEL];
}

function mainContainer(workload: Workload): V1Container {
  const containers = workload.template.spec?.containers ?? [];
  const container = containers.find((c) => c.name === workload.app) ?? containers[0];
  if (container === undefined) throw new Error(`embedded demo: ${workload.name} has no container`);
  return container;
}

function decodeSecret(secret: V1Secret | undefined, key: string): string | undefined {
  const data = secret?.data?.[key];
  return data === undefined ? secret?.stringData?.[key] : Buffer.from(data, 'base64').toString('utf8');
}

async function kubectl(kubeconfig: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(join(defaultBinDir(), 'kubectl'), [...args], {
      env: { ...process.env, KUBECONFIG: kubeconfig },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`kubectl ${args.join(' ')}: ${stderr.trim()}`, { cause: error });
  }
}

function nameOfSample(path: string): string {
  const doc = load(readFileSync(path, 'utf8')) as { kind?: string; metadata?: { name?: string } };
  if (doc.kind !== 'ObservabilityDemo' || doc.metadata?.name === undefined) {
    throw new Error(`embedded demo: ${path} is not an ObservabilityDemo with a name`);
  }
  return doc.metadata.name;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The CR's conditions by type. */
async function conditions(
  custom: CustomObjectsApi,
  namespace: string,
  name: string,
): Promise<Map<string, Condition>> {
  const cr = (await custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as { status?: { conditions?: Condition[] } };
  return new Map((cr.status?.conditions ?? []).map((c) => [c.type, c]));
}

/**
 * The whole demo on this machine without Docker: the local control plane with the operator reconciling the sample
 * ObservabilityDemo, and the data plane that the operator rendered there, run as local processes configured from
 * the objects it applied (see translate.ts): Postgres (with the chart's init script and generated credentials),
 * NATS, Prometheus, the OpenTelemetry Collector and Jaeger (with the charts' configuration) and the five services.
 * Grafana and Tempo have no local build here; the dashboards read the same Prometheus.
 */
export async function startEmbeddedDemo(options: EmbeddedDemoOptions): Promise<EmbeddedDemo> {
  // Every progress line marks a step boundary: the place to honour an abort.
  const log = (line: string) => {
    options.signal?.throwIfAborted();
    options.log?.(line);
  };
  const namespace = options.namespace ?? 'demo';
  const sample = options.sample ?? join(repoRoot, 'manifests', 'samples', 'local.yaml');
  const name = nameOfSample(sample);
  const logs = join(options.dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const stack: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stack.reverse()) await step().catch(() => undefined);
    stack.length = 0;
  };

  try {
    log('starting the local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)');
    const controlPlane = await ControlPlane.start({ dir: join(options.dir, 'cluster') });
    stack.push(() => controlPlane.stop({ keepDir: true }));
    const kubeconfig = controlPlane.kubeconfig;
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);

    log('installing the CRDs and the demo namespace (PodSecurity restricted)');
    await kubectl(kubeconfig, ['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
    await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    await core.createNamespace({
      body: {
        metadata: {
          name: namespace,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
          },
        },
      },
    });

    // The operator learns Prometheus's address before Prometheus exists: its configuration comes from the objects
    // the operator applies.
    const prometheusPort = await freePort();
    const collectorOtlpHttpPort = await freePort();
    const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    const [operatorPort] = (await freePorts(1)) as [number];
    const operatorLog = join(logs, 'operator.log');
    log('starting the operator (make run)');
    const operator = ManagedProcess.start({
      name: 'operator',
      command: process.execPath,
      args: ['--import', '@obsdemo/telemetry/register', join(repoRoot, 'operator', 'dist', 'main.js')],
      cwd: join(repoRoot, 'operator'),
      logFile: operatorLog,
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: kubeconfig,
        HELM_BINARY: join(defaultBinDir(), 'helm'),
        CHARTS_DIR: join(repoRoot, 'charts'),
        LEADER_ELECT: 'false',
        OPERATOR_HOST: '127.0.0.1',
        OPERATOR_PORT: String(operatorPort),
        // Cluster DNS does not resolve here: the operator checks telemetry against the local Prometheus.
        TELEMETRY_PROMETHEUS_URL: prometheusUrl,
        // Its reconcile traces go to the demo's Collector (the operator dashboard shows them), once it is up.
        OTEL_SERVICE_NAME: 'obsdemo-operator',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collectorOtlpHttpPort}`,
      },
    });
    stack.push(async () => {
      await operator.stop(10_000);
    });
    await waitUntilReady(
      operator,
      'ready',
      async () => (await fetch(`http://127.0.0.1:${operatorPort}/readyz`)).ok,
      60_000,
    );

    log(`applying ${sample} to namespace ${namespace}`);
    await kubectl(kubeconfig, ['apply', '-n', namespace, '-f', sample]);
    const ready = await eventually(
      `ObservabilityDemo ${namespace}/${name} Ready (see ${operatorLog})`,
      async () => {
        const c = (await conditions(custom, namespace, name)).get('Ready');
        return c?.status === 'True' ? c : undefined;
      },
      240_000,
    );
    log(`operator reports ${name} Ready: ${ready.message ?? ready.reason ?? ''}`);

    // What the operator applied is the configuration of every local process.
    const [deployments, statefulSets, serviceList, secretList, configMapList, podList] = await Promise.all([
      apps.listNamespacedDeployment({ namespace }),
      apps.listNamespacedStatefulSet({ namespace }),
      core.listNamespacedService({ namespace }),
      core.listNamespacedSecret({ namespace }),
      core.listNamespacedConfigMap({ namespace }),
      core.listNamespacedPod({ namespace }),
    ]);
    const workloads: Workload[] = [];
    for (const d of deployments.items) {
      const app = d.spec === undefined ? undefined : appOf(d.spec.template);
      if (app !== undefined && d.spec !== undefined)
        workloads.push({ kind: 'Deployment', name: d.metadata?.name ?? '', app, template: d.spec.template });
    }
    for (const s of statefulSets.items) {
      const app = s.spec === undefined ? undefined : appOf(s.spec.template);
      if (app !== undefined && s.spec !== undefined)
        workloads.push({ kind: 'StatefulSet', name: s.metadata?.name ?? '', app, template: s.spec.template });
    }
    const workloadOf = (app: string) => workloads.find((w) => w.app === app);
    const secrets = new Map(secretList.items.map((s) => [s.metadata?.name ?? '', s]));
    const configMaps = new Map(configMapList.items.map((c) => [c.metadata?.name ?? '', c]));
    const podNameOf = (workload: Workload) =>
      podList.items.find((p) => p.metadata?.name?.startsWith(`${workload.name}-`))?.metadata?.name ??
      `${workload.name}-0`;
    const chartObjects = (app: string): RenderedChart => {
      const workload = workloadOf(app);
      if (workload === undefined) throw new Error(`embedded demo: the operator applied no ${app} workload`);
      const configMap = [...configMaps.values()].find(
        (c) => c.metadata?.labels?.[NAME_LABEL] === app && c.metadata.name?.endsWith('-config'),
      );
      if (configMap === undefined) throw new Error(`embedded demo: the operator applied no ${app} ConfigMap`);
      const objects = [
        { kind: 'ConfigMap', data: configMap.data },
        { kind: workload.kind, spec: { template: workload.template } },
      ] as RenderedChart['objects'];
      return { chart: app, objects };
    };

    // Local ports standing in for every container port of our services.
    const ownPorts = new Map<string, Map<number, number>>();
    for (const service of DEMO_SERVICES) {
      const workload = workloadOf(service);
      if (workload === undefined) continue;
      const ports = new Map<number, number>();
      for (const p of mainContainer(workload).ports ?? []) ports.set(p.containerPort, await freePort());
      ownPorts.set(service, ports);
    }

    const scrapeTargets: ScrapeTarget[] = [];
    for (const [service, ports] of ownPorts) {
      const workload = workloadOf(service);
      if (workload === undefined) continue;
      const endpoint = scrapeEndpoint(workload.template.metadata?.annotations, ports);
      if (endpoint === undefined) continue;
      scrapeTargets.push({
        job: service,
        address: `127.0.0.1:${endpoint.port}`,
        metricsPath: endpoint.path,
        labels: { namespace, pod: podNameOf(workload), instance_name: name },
      });
    }
    scrapeTargets.push({
      job: 'obsdemo-operator',
      address: `127.0.0.1:${operatorPort}`,
      labels: { namespace, pod: 'obsdemo-operator-local' },
    });

    // The trace store first, then the Collector that exports to it and remote-writes to Prometheus (whose port is
    // known already); Prometheus scrapes both.
    const scrapeOf = (app: string, ports: ReadonlyMap<number, number>) => {
      const workload = workloadOf(app);
      const endpoint =
        workload === undefined ? undefined : scrapeEndpoint(workload.template.metadata?.annotations, ports);
      if (workload === undefined || endpoint === undefined) return;
      scrapeTargets.push({
        job: app,
        address: `127.0.0.1:${endpoint.port}`,
        metricsPath: endpoint.path,
        labels: { namespace, pod: podNameOf(workload), instance_name: name },
      });
    };
    if (workloadOf('tempo') !== undefined)
      throw new Error(
        'embedded demo: the CR stores traces in Tempo, which has no local build here (its module is AGPL); ' +
          'set spec.observability.tracing.backend to jaeger, as manifests/samples/local.yaml does',
      );
    if (workloadOf('loki') !== undefined)
      throw new Error(
        'embedded demo: the CR stores logs in Loki, which has no local build here (its module is AGPL); ' +
          'set spec.observability.logs.backend to none, as manifests/samples/local.yaml does',
      );
    let jaeger: JaegerServer | undefined;
    if (workloadOf('jaeger') !== undefined) {
      log('starting Jaeger v2 (trace store and query API)');
      jaeger = await startJaeger({ rendered: chartObjects('jaeger') });
      stack.push(async () => jaeger?.stop());
      scrapeOf('jaeger', jaeger.ports);
    }
    const jaegerPorts = jaeger?.ports;
    const pipelineAddresses = serviceAddresses(serviceList.items, workloads, (app, containerPort) => {
      if (app === 'jaeger') return jaegerPorts?.get(containerPort);
      if (app === 'prometheus') return prometheusPort;
      return undefined;
    });
    log(
      'starting the OpenTelemetry Collector (service graph and span metrics into Prometheus, traces to the store)',
    );
    const collector = await startCollector({
      rendered: chartObjects('otel-collector'),
      resolve: (endpoint) => localAddress(pipelineAddresses, namespace, 'otel-collector exporter', endpoint),
      chosenPorts: new Map([[COLLECTOR_PORTS.otlpHttp, collectorOtlpHttpPort]]),
    });
    stack.push(() => collector.stop());
    scrapeOf('otel-collector', collector.ports);

    log('starting Prometheus with the configuration and alert rules the operator applied');
    const prometheus = await startPrometheus({
      port: prometheusPort,
      rendered: chartObjects('prometheus'),
      scrapeTargets,
    });
    stack.push(() => prometheus.stop());

    log('starting Postgres and running the chart init script with the generated credentials');
    const postgres = await startPostgres();
    stack.push(() => postgres.stop());
    const postgresWorkload = workloadOf('postgres');
    if (postgresWorkload === undefined) throw new Error('embedded demo: the operator applied no Postgres');
    await initialisePostgres(
      postgres,
      postgresWorkload,
      secrets,
      configMaps,
      join(options.dir, 'postgres-init'),
    );

    log('starting NATS with JetStream');
    const nats = await startNats();
    stack.push(() => nats.dispose());

    // Service name → Service port → local endpoint, through each Service's selector and target port.
    const localPortOf = (app: string, containerPort: number): number | undefined => {
      switch (app) {
        case 'postgres':
          return postgres.port;
        case 'nats':
          return containerPort === 4222 ? nats.port : Number(new URL(nats.monitorUrl).port);
        case 'otel-collector':
          return collector.ports.get(containerPort);
        case 'jaeger':
          return jaeger?.ports.get(containerPort);
        case 'prometheus':
          return prometheusPort;
        default:
          return ownPorts.get(app)?.get(containerPort);
      }
    };
    const addresses = serviceAddresses(serviceList.items, workloads, localPortOf);

    const services = new Map<DemoService, ServiceProcess>();
    const runningEnv = new Map<DemoService, Record<string, string>>();
    const envOf = (
      service: DemoService,
      workload: Workload,
      secretsNow: ReadonlyMap<string, V1Secret>,
      configMapsNow: ReadonlyMap<string, V1ConfigMap>,
    ): Record<string, string> =>
      localEnv(
        {
          workload: `${workload.kind}/${workload.name}`,
          namespace,
          podName: podNameOf(workload),
          services: addresses,
          ownPorts: ownPorts.get(service) ?? new Map(),
          secret: (secretName, key) => decodeSecret(secretsNow.get(secretName), key),
          configMap: (mapName, key) => configMapsNow.get(mapName)?.data?.[key],
        },
        mainContainer(workload) as ContainerSpec,
      );
    const startService = async (service: DemoService, env: Record<string, string>) => {
      const portEnv = `${service.toUpperCase()}_PORT`;
      const port = Number(env[portEnv]);
      log(`starting ${service} on 127.0.0.1:${port}`);
      const proc = await startServiceProcess({
        service,
        env: { ...env, ...options.serviceEnv?.[service] },
        portEnv,
        port,
        nodeArgs: ['--import', '@obsdemo/telemetry/register'],
        readyTimeoutMs: 60_000,
        logDir: logs,
      });
      services.set(service, proc);
      runningEnv.set(service, env);
    };
    for (const service of DEMO_SERVICES) {
      const workload = workloadOf(service);
      if (workload === undefined) continue;
      stack.push(async () => services.get(service)?.stop());
      await startService(service, envOf(service, workload, secrets, configMaps));
    }

    // What a rollout does in the cluster: a process whose Deployment now says something else starts again with it.
    const syncServices = async (): Promise<DemoService[]> => {
      const [deploymentsNow, secretsNow, configMapsNow] = await Promise.all([
        apps.listNamespacedDeployment({ namespace }),
        core.listNamespacedSecret({ namespace }),
        core.listNamespacedConfigMap({ namespace }),
      ]);
      const secretMap = new Map(secretsNow.items.map((x) => [x.metadata?.name ?? '', x]));
      const configMapMap = new Map(configMapsNow.items.map((x) => [x.metadata?.name ?? '', x]));
      const restarted: DemoService[] = [];
      for (const service of DEMO_SERVICES) {
        const before = workloadOf(service);
        const deployment = deploymentsNow.items.find((d) => d.metadata?.name === before?.name);
        if (before === undefined || deployment?.spec === undefined || !services.has(service)) continue;
        const env = envOf(
          service,
          { ...before, template: deployment.spec.template },
          secretMap,
          configMapMap,
        );
        if (JSON.stringify(env) === JSON.stringify(runningEnv.get(service))) continue;
        log(`${before.name} changed: restarting ${service} with its new configuration`);
        await services.get(service)?.stop();
        await startService(service, env);
        restarted.push(service);
      }
      return restarted;
    };

    return {
      name,
      namespace,
      kubeconfig,
      controlPlane,
      operatorLog,
      postgres,
      nats,
      prometheus,
      collector,
      jaeger,
      services,
      syncServices,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function serviceAddresses(
  services: readonly V1Service[],
  workloads: readonly Workload[],
  localPortOf: (app: string, containerPort: number) => number | undefined,
): ServiceAddressMap {
  const map = new Map<string, Map<number, LocalEndpoint>>();
  for (const service of services) {
    const app = service.spec?.selector?.[NAME_LABEL];
    const workload = workloads.find((w) => w.app === app);
    if (app === undefined || workload === undefined || service.metadata?.name === undefined) continue;
    const containerPorts = (workload.template.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
    const ports = new Map<number, LocalEndpoint>();
    for (const port of service.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      const containerPort =
        typeof target === 'number' ? target : containerPorts.find((p) => p.name === target)?.containerPort;
      if (containerPort === undefined) continue;
      const local = localPortOf(app, containerPort);
      if (local !== undefined) ports.set(port.port, { host: '127.0.0.1', port: local });
    }
    map.set(service.metadata.name, ports);
  }
  return map;
}

/**
 * Runs the chart's init scripts (the ConfigMap mounted at /docker-entrypoint-initdb.d) against the local Postgres,
 * with the generated credentials of the Secret mounted where the script reads them, as the image's entrypoint does
 * on first start.
 */
async function initialisePostgres(
  postgres: PostgresServer,
  workload: Workload,
  secrets: ReadonlyMap<string, V1Secret>,
  configMaps: ReadonlyMap<string, V1ConfigMap>,
  dir: string,
): Promise<void> {
  const container = mainContainer(workload);
  const volumes = workload.template.spec?.volumes ?? [];
  const mountedAt = (path: string) => {
    const mount = container.volumeMounts?.find((m) => m.mountPath === path);
    return volumes.find((v) => v.name === mount?.name);
  };
  const initVolume = mountedAt('/docker-entrypoint-initdb.d');
  const credentialsVolume = mountedAt('/etc/postgres-credentials');
  const scripts = configMaps.get(initVolume?.configMap?.name ?? '')?.data;
  const credentials = secrets.get(credentialsVolume?.secret?.secretName ?? '');
  if (scripts === undefined || credentials === undefined) {
    throw new Error(
      'embedded demo: the Postgres StatefulSet no longer mounts its init scripts at /docker-entrypoint-initdb.d ' +
        'and credentials at /etc/postgres-credentials',
    );
  }
  const credentialsDir = join(dir, 'credentials');
  mkdirSync(credentialsDir, { recursive: true, mode: 0o700 });
  for (const key of Object.keys(credentials.data ?? {})) {
    writeFileSync(join(credentialsDir, key), decodeSecret(credentials, key) ?? '', { mode: 0o600 });
  }
  for (const [file, body] of Object.entries(scripts).sort(([a], [b]) => a.localeCompare(b))) {
    if (!file.endsWith('.sh')) continue;
    const path = join(dir, file);
    writeFileSync(path, body, { mode: 0o700 });
    try {
      await execFileAsync('bash', [path], {
        env: {
          PATH: process.env.PATH ?? '',
          PGHOST: postgres.host,
          PGPORT: String(postgres.port),
          PGPASSWORD: postgres.password,
          POSTGRES_USER: postgres.user,
          POSTGRES_CREDENTIALS_DIR: credentialsDir,
        },
      });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? String(error);
      throw new Error(`embedded demo: Postgres init script ${file} failed: ${stderr.trim()}`, {
        cause: error,
      });
    }
  }
}
