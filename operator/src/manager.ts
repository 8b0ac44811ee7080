import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry, RegistryContentType } from 'prom-client';
import { API_VERSION, PLURAL, type DefaultedObservabilityDemo } from './api/index.js';
import type { OperatorConfig } from './config.js';
import { ResourceClient, type Unstructured } from './kube/resource-client.js';
import { HelmRenderer } from './render/helm-template.js';
import { DemoReconciler, INSTANCE_LABEL } from './reconcile/reconciler.js';
import { demoChanged, workloadChanged, workloadSummary } from './reconcile/watches.js';
import { servicesValues } from './reconcile/services-values.js';
import { TelemetryVerifier } from './reconcile/telemetry.js';
import {
  Controller,
  EventRecorder,
  Informer,
  KubeHttpClient,
  KubeLeaseClient,
  LeaderElector,
  collectionPath,
  informersSynced,
  startHealthServer,
  stripManagedFields,
  type KubeObject,
  type ReadinessCheck,
  type RuntimeLogger,
} from './runtime/index.js';

export interface ManagerDeps {
  kubeConfig: KubeConfig;
  logger: RuntimeLogger;
  registry: Registry<RegistryContentType>;
}

export interface Manager {
  readonly port: number;
  readonly identity: string;
  /** Stops reconciling, hands the Lease over, and closes everything. */
  stop(): Promise<void>;
}

/**
 * Wires controller-runtime's pieces: the manager's informers on ObservabilityDemos and the workloads they own, one
 * controller watching them (For the demos, Owns the workloads) whose reconciler renders and applies the charts,
 * Events, health and metrics, and leader election around it. Every replica keeps warm caches; each leadership term
 * runs the controller's workers, and its end stops them.
 */
export async function startManager(config: OperatorConfig, deps: ManagerDeps): Promise<Manager> {
  const { logger, registry } = deps;
  const identity = `${config.POD_NAME}_${randomBytes(3).toString('hex')}`;
  const http = new KubeHttpClient(deps.kubeConfig, { userAgent: 'obsdemo-operator' });
  const version = await http.get<KubeObject & { gitVersion?: string }>('/version');
  const renderer = new HelmRenderer({
    helmBinary: config.HELM_BINARY,
    chartsDir: config.CHARTS_DIR,
    ...(version.gitVersion ? { kubeVersion: version.gitVersion } : {}),
  });
  // With leader election, a write is sent only while this replica holds the Lease (holdsLease: renewed within the
  // renew deadline), checked right before each request: no reconcile and no Event writes once a standby may lead.
  let elector: LeaderElector | undefined;
  const mayWrite = () => !config.LEADER_ELECT || elector?.holdsLease() === true;
  const events = new EventRecorder(http, { reportingInstance: identity, logger, mayWrite });
  const telemetry = new TelemetryVerifier(
    config.TELEMETRY_PROMETHEUS_URL ? { prometheusUrl: config.TELEMETRY_PROMETHEUS_URL } : {},
  );
  // The manager's caches: every replica keeps them warm from start-up, leader or not.
  const ns = config.WATCH_NAMESPACE || undefined;
  const demos = new Informer(http, {
    path: collectionPath(API_VERSION, PLURAL, ns),
    resyncPeriodMs: config.RESYNC_PERIOD,
    logger,
    transform: stripManagedFields,
  });
  // Owned workloads carry the inventory label: a change to one (its spec, a pod becoming ready, its deletion)
  // re-reconciles its demo. The cache keeps identity, generation and the readiness fields only: enough for the
  // reconciler's status between full comparisons, and a fraction of the objects' memory.
  const workloads = ['deployments', 'statefulsets'].map(
    (plural) =>
      new Informer(http, {
        path: collectionPath('apps/v1', plural, ns),
        labelSelector: INSTANCE_LABEL,
        logger,
        transform: workloadSummary,
      }),
  );
  // A deleted demo's telemetry check is forgotten, leader or not (a cache concern, not a reconcile).
  demos.addEventHandler({
    onDelete: (o) => telemetry.forget(o.metadata?.namespace ?? '', o.metadata?.name ?? ''),
  });

  const reconciler = new DemoReconciler({
    client: new ResourceClient(http, {
      writeGuard: (method, path) => {
        if (!mayWrite())
          throw new NotLeaderError(
            `${method} ${path} not sent: this replica no longer holds the leader Lease`,
          );
      },
    }),
    renderer,
    servicesValues,
    operatorLocation: { namespace: config.POD_NAMESPACE, podLabels: config.OPERATOR_POD_LABELS },
    componentDefaults: config.COMPONENT_DEFAULTS,
    verifyTelemetry: (demo, context) => telemetry.check(demo, context),
    // Readiness between full comparisons comes from the workload informers; resyncs ask for a full comparison
    // (below), and the interval is a backstop should one be missed.
    cachedWorkload: (ref) =>
      workloads[ref.kind === 'StatefulSet' ? 1 : 0]?.store.get(`${ref.namespace}/${ref.name}`) as
        Unstructured | undefined,
    fullCompareIntervalMs: config.RESYNC_PERIOD,
    recordEvent: (demo: DefaultedObservabilityDemo, type, reason, message) =>
      events.event(demo, type, reason, 'Reconcile', message),
  });

  // One controller for the life of the process, its watches declared once; leadership only runs its workers.
  const controller = new Controller({
    name: 'observabilitydemo',
    maxConcurrentReconciles: config.MAX_CONCURRENT_RECONCILES,
    registry,
    logger,
    reconcileTimeoutMs: config.RECONCILE_TIMEOUT,
    reconcile: async ({ namespace, name, signal }) => {
      if (namespace === undefined) return;
      const result = await reconciler.reconcile(namespace, name, signal);
      return result.requeueAfter === undefined ? undefined : { requeueAfter: result.requeueAfter };
    },
    onAborted: ({ key }, reason) => {
      const demo = demos.store.get(key);
      // After leadership is lost nothing may be written, an Event included: the log and the metric say it.
      if (demo === undefined || reason === 'leadership_lost') return;
      events.event(
        demo,
        'Warning',
        reason === 'timeout' ? 'ReconcileTimedOut' : 'ReconcileAborted',
        'Reconcile',
        reason === 'timeout'
          ? `reconcile aborted after RECONCILE_TIMEOUT (${config.RECONCILE_TIMEOUT} ms); it is retried with backoff`
          : 'reconcile aborted: the operator is shutting down; the next leader reconciles again',
      );
    },
  });
  // The demo's own status writes do not reconcile it again (controller-runtime's GenerationChangedPredicate, plus
  // labels, annotations, deletion and resyncs); a workload's update only when what the status reads changed.
  controller.for(demos, {
    updatePredicate: (a, b) => {
      // A resync or relist (the same resourceVersion) compares every object in full, whatever ran since.
      const { namespace, name, resourceVersion } = b.metadata ?? {};
      if (namespace && name && resourceVersion === a.metadata?.resourceVersion)
        reconciler.requestFullComparison(namespace, name);
      return demoChanged(a, b);
    },
  });
  for (const informer of workloads)
    controller.owns(informer, ownerKeyFromInstanceLabel, {
      updatePredicate: workloadChanged,
    });
  const informers = controller.informers();
  for (const informer of informers) informer.start();

  // A term starts the workers once the caches have synced (every cached demo is queued), and its end stops them,
  // aborting the reconciles in flight (before a graceful stop hands the Lease over).
  const startWorkers = async (term?: AbortSignal) => {
    await Promise.all(informers.map((i) => i.waitForSync()));
    if (term?.aborted || stopping) return;
    term?.addEventListener('abort', () => void stopWorkers(stopping ? 'shutdown' : 'leadership_lost'), {
      once: true,
    });
    // Another replica may have led meanwhile: every demo's first reconcile of this term compares in full.
    reconciler.forgetComparisons();
    controller.start();
  };
  const stopWorkers = (reason: 'shutdown' | 'leadership_lost') => controller.stop(reason);

  let stopping = false;
  const readiness: Record<string, ReadinessCheck> = { informers: informersSynced(informers) };
  let campaign: Promise<void> = Promise.resolve();
  if (config.LEADER_ELECT) {
    // client-go's elector ends when leadership is lost and controller-runtime then exits the process. Here writes
    // stop by the clock once a renewal is overdue by the renew deadline (mayWrite), the term's controller stops
    // and aborts its reconciles when the elector gives up, and the process campaigns again, so an apiserver outage
    // longer than the renew deadline costs a new election, not a restart.
    const lock = new KubeLeaseClient(http, config.POD_NAMESPACE, config.LEADER_ELECTION_ID);
    campaign = (async () => {
      while (!stopping) {
        elector = new LeaderElector({
          lock,
          identity,
          logger,
          leaseDurationMs: config.LEADER_ELECTION_LEASE_DURATION,
          renewDeadlineMs: config.LEADER_ELECTION_RENEW_DEADLINE,
          retryPeriodMs: config.LEADER_ELECTION_RETRY_PERIOD,
          callbacks: {
            onStartedLeading: (signal) => {
              logger.info('became leader', { identity });
              void startWorkers(signal);
            },
            onStoppedLeading: (reason) => {
              if (reason === 'lost')
                logger.error('leadership lost: reconciling stops until it is regained', { identity });
              void stopWorkers(reason === 'lost' ? 'leadership_lost' : 'shutdown');
            },
            onNewLeader: (leader) => logger.info('leader observed', { leader }),
          },
        });
        await elector.run();
        await stopWorkers(stopping ? 'shutdown' : 'leadership_lost');
      }
    })();
    // Leader and standby are both ready (a standby marked unready would stall rolling updates of the Deployment).
    readiness.leaderElection = () => (stopping ? 'stopping' : true);
  } else {
    await startWorkers();
  }
  const health = await startHealthServer(
    { registry, readiness, logger },
    config.OPERATOR_PORT,
    config.OPERATOR_HOST,
  );
  logger.info('operator started', {
    identity,
    port: health.port,
    watchNamespace: config.WATCH_NAMESPACE || '(all)',
    leaderElection: config.LEADER_ELECT,
    kubernetes: version.gitVersion,
  });

  return {
    port: health.port,
    identity,
    async stop() {
      stopping = true;
      // Reconciles end and their Events are written while this replica still holds the Lease; then it is released.
      await stopWorkers('shutdown');
      await events.flush();
      await elector?.stop();
      await campaign;
      await Promise.all(informers.map((i) => i.stop()));
      await events.flush();
      await health.close();
      await http.close();
    },
  };
}

/** A write refused because this replica's leadership has ended (or may have: renewal is overdue). */
export class NotLeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

/** The demo that owns a workload, by the inventory label the reconciler puts on everything it applies. */
function ownerKeyFromInstanceLabel(obj: KubeObject): string | undefined {
  const owner = obj.metadata?.labels?.[INSTANCE_LABEL];
  return owner && obj.metadata?.namespace ? `${obj.metadata.namespace}/${owner}` : undefined;
}
