import { createHash, randomBytes } from 'node:crypto';
import type {
  ComponentStatus,
  DefaultedObservabilityDemo,
  InventoryReference,
  ObservabilityDemoStatus,
} from '../api/index.js';
import { API_VERSION, KIND, SERVICE_NAMES } from '../api/index.js';
import {
  isKubeApiError,
  type ResourceClient,
  type ObjectRef,
  type Unstructured,
} from '../kube/resource-client.js';
import { canonicalJson, type HelmRenderer } from '../render/helm-template.js';
import { setConditions, type ObservedCondition } from './conditions.js';
import { isSubset, ownsRemovedFields, replicasToHandOver } from './drift.js';
import type { OperatorLocation } from './network-policy.js';
import {
  componentNames,
  DATABASE_USERS,
  generatedSecretNames,
  planComponents,
  withComponentDefaults,
  type ComponentDefaults,
} from './plan.js';
import type { TelemetryCheck, TelemetryContext } from './telemetry.js';

export const FIELD_MANAGER = 'obsdemo-operator';
/** Holds a workload's replicas count while a HorizontalPodAutoscaler takes it over (see replicasToHandOver). */
export const REPLICAS_HANDOVER_MANAGER = 'obsdemo-operator-replicas-handover';
export const INSTANCE_LABEL = 'obsdemo.dev/instance';
export const COMPONENT_LABEL = 'obsdemo.dev/component';

export interface ReconcilerDeps {
  client: ResourceClient;
  renderer: HelmRenderer;
  /** Application services values for the demo-services chart. */
  servicesValues: (demo: DefaultedObservabilityDemo) => Record<string, unknown>;
  /** Where the operator runs, for the Prometheus NetworkPolicy of each demo; none when omitted. */
  operatorLocation?: OperatorLocation;
  /** Chart values every demo starts from (COMPONENT_DEFAULTS), e.g. image mirrors; none when omitted. */
  componentDefaults?: ComponentDefaults;
  now?: () => Date;
  /**
   * The TelemetryVerified observation (service-graph edges in Prometheus); without it the condition is not set.
   * It does not gate Ready, which is about workloads.
   */
  verifyTelemetry?: (demo: DefaultedObservabilityDemo, context: TelemetryContext) => Promise<TelemetryCheck>;
  /**
   * The owned Deployments and StatefulSets as the workload informers hold them (identity, generation,
   * `spec.replicas` and the readiness fields of `status`). With it, a reconcile whose render is unchanged since a
   * recent full comparison reads readiness from this cache instead of reading every object from the API server.
   */
  cachedWorkload?: (ref: ObjectRef) => Unstructured | undefined;
  /**
   * How long a full comparison of every rendered object with the API server's stays good while nothing the
   * operator watches says otherwise. The manager passes the resync period, a backstop: resyncs themselves ask for
   * a full comparison (requestFullComparison).
   * 0 (the default): every reconcile compares in full.
   */
  fullCompareIntervalMs?: number;
  /** Kubernetes Events for significant transitions. */
  recordEvent?: (
    demo: DefaultedObservabilityDemo,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ) => void;
}

export interface ReconcileResult {
  /** Requeue to observe rollouts that are still in progress. */
  requeueAfter?: number;
  /** Objects written by server-side apply this round (0 when nothing drifted). */
  applied: number;
  pruned: number;
}

/**
 * A safety net only: a workload's status change re-reconciles its demo through the owned-workload informers, so
 * readiness is event-driven and this requeue matters only if an event is lost.
 */
export const NOT_READY_RECHECK_MS = 60_000;

/** Requests one reconcile has in flight at once (drift reads, then the applies of one kind). */
const PARALLEL_REQUESTS = 8;

/** How long a generated Secret confirmed to exist is not POSTed again (a deleted one comes back after this). */
const SECRET_RECHECK_MS = 10 * 60_000;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
/** Apply order: what workloads depend on first. */
const KIND_ORDER = [
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'PersistentVolumeClaim',
  'Role',
  'RoleBinding',
  'Service',
  'NetworkPolicy',
  'PodDisruptionBudget',
  'StatefulSet',
  'Deployment',
];

const refOf = (o: Unstructured): InventoryReference => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  name: o.metadata.name,
  ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
});
type FailureReason = 'RenderFailed' | 'ApplyFailed';

const refKey = (r: InventoryReference) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;

function randomPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * One reconcile of one ObservabilityDemo: re-reads everything, is idempotent, and writes only what differs. Its
 * phases, in order: ensureSecrets (generated credentials) → render (CR → per-component values → helm template,
 * cached, with owner references and inventory labels) → apply (server-side apply of what drifted) → prune (what
 * is no longer rendered) → updateStatus (workload readiness and telemetry, through /status).
 */
export class DemoReconciler {
  private readonly now: () => Date;
  /** Generated Secrets known to exist, by demo uid and name, with when that was confirmed. */
  private readonly confirmedSecrets = new Map<string, number>();
  /** The last full comparison that succeeded, by demo namespace/name. */
  private readonly compared = new Map<string, FullComparison>();
  /** When a full comparison was last asked for (a resync), by demo namespace/name. */
  private readonly fullAskedAt = new Map<string, number>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * Asks for the next reconcile of a demo to compare every object in full: the manager calls it for resyncs, so
   * an object no informer watches is compared at every resync whatever ran in between.
   */
  requestFullComparison(namespace: string, name: string): void {
    this.fullAskedAt.set(`${namespace}/${name}`, this.now().getTime());
  }

  /**
   * Forgets every recorded comparison, so that each demo's next reconcile compares in full: called when a
   * leadership term starts, since another replica may have changed anything meanwhile.
   */
  forgetComparisons(): void {
    this.compared.clear();
    this.fullAskedAt.clear();
  }

  /**
   * `signal` ends the reconcile: aborting it cancels the API requests and the helm process in flight and refuses
   * every request after, so an aborted reconcile writes nothing more (not even its failure).
   */
  async reconcile(namespace: string, name: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const client = signal ? this.deps.client.scoped({ signal }) : this.deps.client;
    const demo = await client.get<DefaultedObservabilityDemo>({
      apiVersion: API_VERSION,
      kind: KIND,
      namespace,
      name,
    });
    // Deleted: owner references let the garbage collector remove everything we created.
    if (demo === undefined || demo.metadata?.deletionTimestamp) {
      this.compared.delete(`${namespace}/${name}`);
      this.fullAskedAt.delete(`${namespace}/${name}`);
      return { applied: 0, pruned: 0 };
    }
    if (demo.spec.paused) {
      await this.updatePausedStatus(client, demo);
      return { applied: 0, pruned: 0 };
    }
    const failed = (reason: FailureReason) => (error: unknown) =>
      this.reportFailure(client, demo, reason, error, signal);

    const desired = await this.ensureSecrets(client, demo)
      .then(() => this.render(demo, signal))
      .catch(failed('RenderFailed'));
    const renderKey = createHash('sha256').update(JSON.stringify(desired)).digest('hex');
    const cached = this.fromCache(demo, desired, renderKey);
    if (cached !== undefined) {
      // Nothing to compare: the render, the demo and the watched workloads are as the last full comparison left
      // them. Only readiness can have changed, and the workload cache has it.
      const requeueAfter = await this.updateStatus(client, demo, desired, cached, signal);
      return { applied: 0, pruned: 0, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
    }
    const comparedAt = this.now().getTime();
    const firstApply = (demo.status?.inventory?.length ?? 0) === 0;
    const { applied, live } = await this.apply(client, desired, firstApply).catch(failed('ApplyFailed'));
    const pruned = await this.prune(client, demo, desired).catch(failed('ApplyFailed'));
    this.remember(demo, desired, live, renderKey, comparedAt);
    // Readiness from the informer cache wherever it already holds the workload as it is now (same uid and
    // generation), so that this status and the next ones, read from the cache, come from one ordered source.
    const readiness = live.map((current, i) => {
      const obj = desired[i];
      if (obj === undefined || !WORKLOAD_KINDS.has(obj.kind)) return current;
      const cached = this.deps.cachedWorkload?.(toRef(obj));
      return cached !== undefined &&
        cached.metadata.uid === current?.metadata.uid &&
        cached.metadata.generation === current?.metadata.generation
        ? cached
        : current;
    });
    if (applied > 0) this.deps.recordEvent?.(demo, 'Normal', 'Applied', `applied ${applied} object(s)`);
    if (pruned > 0)
      this.deps.recordEvent?.(demo, 'Normal', 'Pruned', `deleted ${pruned} object(s) no longer rendered`);

    const requeueAfter = await this.updateStatus(client, demo, desired, readiness, signal);
    return { applied, pruned, ...(requeueAfter !== undefined ? { requeueAfter } : {}) };
  }

  /**
   * Phase 1, generated credentials: created once, never overwritten, never logged, and never read back. The
   * operator may only create Secrets (no get, list or watch): it POSTs each one and takes 409 AlreadyExists as
   * "exists", so its RBAC cannot read any Secret, its own included. A confirmed Secret is not POSTed again for a
   * while, so an unchanged demo costs no request; a deleted one is recreated after that.
   */
  private async ensureSecrets(client: ResourceClient, demo: DefaultedObservabilityDemo): Promise<void> {
    const { name, namespace, uid } = id(demo);
    const names = generatedSecretNames(name);
    const wanted: { name: string; data: () => Record<string, string>; needed: boolean }[] = [
      {
        name: names.postgres,
        needed: demo.spec.database.postgres.mode === 'managed',
        data: () =>
          Object.fromEntries([
            ['postgres-password', randomPassword()],
            ...DATABASE_USERS.map((u) => [`${u}-password`, randomPassword()]),
          ]),
      },
      {
        name: names.grafana,
        needed: demo.spec.observability.grafana.enabled,
        data: () => ({ 'admin-user': 'admin', 'admin-password': randomPassword() }),
      },
    ];
    const now = this.now().getTime();
    // Expired entries go, so deleted demos leave nothing behind.
    for (const [key, at] of this.confirmedSecrets)
      if (now - at >= SECRET_RECHECK_MS) this.confirmedSecrets.delete(key);
    for (const s of wanted.filter((w) => w.needed)) {
      const key = `${uid}/${s.name}`;
      if (this.confirmedSecrets.has(key)) continue;
      const ref = { apiVersion: 'v1', kind: 'Secret', namespace, name: s.name };
      try {
        await client.request('POST', await client.path({ ...ref, name: undefined }), {
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: {
              name: s.name,
              namespace,
              labels: this.labels(demo, 'credentials'),
              ownerReferences: [ownerRef(demo)],
            },
            stringData: s.data(),
          },
        });
      } catch (error) {
        // It exists (created earlier, by another reconcile, or by the user): keep it as it is.
        if (!isKubeApiError(error, 409)) throw error;
      }
      this.confirmedSecrets.set(key, now);
    }
  }

  private labels(demo: DefaultedObservabilityDemo, component: string): Record<string, string> {
    return {
      [INSTANCE_LABEL]: id(demo).name,
      [COMPONENT_LABEL]: component,
      'app.kubernetes.io/managed-by': FIELD_MANAGER,
      'app.kubernetes.io/part-of': 'observability-demo',
    };
  }

  /**
   * Phase 2: every component's chart rendered with the values the demo implies, each object labelled and owned
   * by the demo, in apply order.
   */
  private async render(demo: DefaultedObservabilityDemo, signal?: AbortSignal): Promise<Unstructured[]> {
    const plans = withComponentDefaults(
      planComponents(demo, this.deps.servicesValues, this.deps.operatorLocation),
      this.deps.componentDefaults ?? {},
    );
    const { name, namespace } = id(demo);
    // One helm process for every chart of the demo.
    const objectsByPlan = await this.deps.renderer.renderSet({
      charts: plans.map((plan) => ({ chart: plan.chart, values: plan.values })),
      release: name,
      namespace,
      ...(signal ? { signal } : {}),
    });
    const rendered = plans.map((plan, i) =>
      (objectsByPlan[i] ?? []).map((o) => ({
        ...o,
        metadata: {
          ...o.metadata,
          namespace,
          labels: { ...o.metadata.labels, ...this.labels(demo, plan.component) },
          ownerReferences: [ownerRef(demo)],
        },
      })),
    );
    const all = rendered.flat();
    const rank = (k: string) => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
    return all.sort((a, b) => rank(a.kind) - rank(b.kind));
  }

  /**
   * Phase 3, server-side apply of each object whose rendered fields differ from the live object, or whose live
   * object still has a field our field manager applied before and the charts no longer render (the apply removes
   * it; fields other managers own stay). The reads go out in parallel (a demo renders some forty objects, and
   * their round trips dominated a reconcile); the writes go kind by kind in KIND_ORDER, so what a workload
   * depends on exists first, and in parallel within a kind.
   * Returns the live state of every object afterwards (the read, or the apply's answer), which the readiness
   * report uses instead of reading again.
   */
  private async apply(
    client: ResourceClient,
    desired: Unstructured[],
    firstApply: boolean,
  ): Promise<{ applied: number; live: Unstructured[] }> {
    // A demo applied for the first time (no inventory in its status) has nothing to compare with: every object but
    // its workloads is applied unread (server-side apply creates what is missing and leaves what already matches).
    // Workloads are still read, for a replicas count an autoscaler may already hold (replicasToHandOver).
    const live = await mapLimit(desired, PARALLEL_REQUESTS, (obj) =>
      firstApply && !WORKLOAD_KINDS.has(obj.kind)
        ? Promise.resolve(undefined)
        : client.get<Unstructured>(toRef(obj)),
    );
    const drifted = desired
      .map((obj, i) => ({ obj, i }))
      .filter(({ obj, i }) => {
        const current = live[i];
        return (
          current === undefined ||
          !isSubset(stripForCompare(obj), current) ||
          ownsRemovedFields(obj, current, FIELD_MANAGER)
        );
      });
    // desired is sorted by kind rank, so consecutive runs of one kind are the batches.
    for (let start = 0; start < drifted.length;) {
      let end = start + 1;
      while (end < drifted.length && drifted[end]?.obj.kind === drifted[start]?.obj.kind) end++;
      await mapLimit(drifted.slice(start, end), PARALLEL_REQUESTS, async ({ obj, i }) => {
        const replicas = replicasToHandOver(obj, live[i], FIELD_MANAGER);
        if (replicas !== undefined) {
          // A service moving to autoscaling keeps its pods: another manager holds the count first, so our apply
          // without replicas only gives up our claim (the autoscaler then takes it over through /scale).
          const handOver = {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace },
            spec: { replicas },
          };
          await client.apply(handOver, REPLICAS_HANDOVER_MANAGER);
        }
        live[i] = await client.apply<Unstructured>(obj, FIELD_MANAGER);
      });
      start = end;
    }
    return { applied: drifted.length, live: live as Unstructured[] };
  }

  /** Phase 4: deletes what the last status' inventory lists and this render no longer has. */
  private async prune(
    client: ResourceClient,
    demo: DefaultedObservabilityDemo,
    desired: Unstructured[],
  ): Promise<number> {
    const keep = new Set(desired.map((o) => refKey(refOf(o))));
    let pruned = 0;
    for (const ref of demo.status?.inventory ?? []) {
      if (keep.has(refKey(ref))) continue;
      if (await client.delete({ ...ref, namespace: ref.namespace ?? id(demo).namespace })) pruned++;
    }
    return pruned;
  }

  /**
   * The live workloads from the informer cache, when a full comparison may be skipped: the last one succeeded
   * within `fullCompareIntervalMs` for this generation and this exact render, and every rendered workload is in the
   * cache with the uid and generation that comparison left (a deleted, recreated or edited workload compares in
   * full at once). Objects no informer watches (ConfigMaps, Services, ...) are compared at the next full comparison,
   * at the latest on the next resync. Undefined: compare in full.
   */
  private fromCache(
    demo: DefaultedObservabilityDemo,
    desired: Unstructured[],
    renderKey: string,
  ): (Unstructured | undefined)[] | undefined {
    const { cachedWorkload, fullCompareIntervalMs = 0 } = this.deps;
    const { namespace, name } = id(demo);
    const key = `${namespace}/${name}`;
    const last = this.compared.get(key);
    if (
      cachedWorkload === undefined ||
      last === undefined ||
      last.renderKey !== renderKey ||
      last.generation !== demo.metadata?.generation ||
      this.now().getTime() - last.at >= fullCompareIntervalMs ||
      (this.fullAskedAt.get(key) ?? -Infinity) >= last.at ||
      // The status must list what this render holds: a failed status write, or another leader meanwhile, means the
      // inventory (and so what prune would delete) is not ours yet.
      canonicalJson(demo.status?.inventory ?? []) !== canonicalJson(desired.map(refOf))
    )
      return undefined;
    const live: (Unstructured | undefined)[] = [];
    for (const obj of desired) {
      if (!WORKLOAD_KINDS.has(obj.kind)) {
        live.push(undefined);
        continue;
      }
      const cached = cachedWorkload(toRef(obj));
      const expected = last.workloads.get(refKey(refOf(obj)));
      // Deleted, recreated, its spec edited (the generation moves), or a rendered label or annotation changed (it
      // does not): compare in full.
      if (
        cached === undefined ||
        expected === undefined ||
        cached.metadata.uid !== expected.uid ||
        cached.metadata.generation !== expected.generation ||
        !isSubset(obj.metadata.labels ?? {}, cached.metadata.labels ?? {}) ||
        !isSubset(obj.metadata.annotations ?? {}, cached.metadata.annotations ?? {})
      )
        return undefined;
      live.push(cached);
    }
    return live;
  }

  /** Records a successful full comparison: when it started, what it compared, and the workloads it left. */
  private remember(
    demo: DefaultedObservabilityDemo,
    desired: Unstructured[],
    live: Unstructured[],
    renderKey: string,
    at: number,
  ): void {
    const workloads = new Map<string, { uid?: string; generation?: number }>();
    for (const [i, obj] of desired.entries()) {
      if (!WORKLOAD_KINDS.has(obj.kind)) continue;
      const meta = live[i]?.metadata as { uid?: string; generation?: number } | undefined;
      workloads.set(refKey(refOf(obj)), { uid: meta?.uid, generation: meta?.generation });
    }
    const { namespace, name } = id(demo);
    this.compared.set(`${namespace}/${name}`, {
      renderKey,
      generation: demo.metadata?.generation,
      at,
      workloads,
    });
  }

  /** Phase 5: status from the live workloads and the telemetry check; returns when to look again, if at all. */
  private async updateStatus(
    client: ResourceClient,
    demo: DefaultedObservabilityDemo,
    desired: Unstructured[],
    live: readonly (Unstructured | undefined)[],
    signal: AbortSignal | undefined,
  ): Promise<number | undefined> {
    const generation = demo.metadata?.generation ?? 0;
    const components = readComponents(desired, live);
    const allReady = components.every((c) => c.ready >= c.desired);
    const observed = workloadConditions(components);
    const telemetry = await this.checkTelemetry(demo, components, signal);
    if (telemetry) observed.push(telemetry.condition);
    const services = components.filter((c) => (SERVICE_NAMES as readonly string[]).includes(c.name));
    const previousReady = demo.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    await this.writeStatus(client, demo, {
      ...demo.status,
      observedGeneration: generation,
      phase: allReady ? 'Ready' : 'Progressing',
      servicesReady: `${services.filter((c) => c.ready >= c.desired).length}/${services.length}`,
      conditions: setConditions(demo.status?.conditions ?? [], observed, generation, this.now()),
      components,
      endpoints: componentNames(demo).endpoints(new Set(components.map((c) => c.name))),
      inventory: desired.map(refOf),
    });
    if (allReady && previousReady !== 'True') {
      this.deps.recordEvent?.(demo, 'Normal', 'Ready', 'every component is ready');
    }
    const requeueAfter = Math.min(
      allReady ? Infinity : NOT_READY_RECHECK_MS,
      telemetry?.recheckAfterMs ?? Infinity,
    );
    return Number.isFinite(requeueAfter) ? requeueAfter : undefined;
  }

  /** The TelemetryVerified observation, when the reconciler was given a check. */
  private async checkTelemetry(
    demo: DefaultedObservabilityDemo,
    components: ComponentStatus[],
    signal: AbortSignal | undefined,
  ): Promise<TelemetryCheck | undefined> {
    const prometheus = components.find((c) => c.name === 'prometheus');
    return this.deps.verifyTelemetry?.(demo, {
      prometheusReady:
        prometheus !== undefined && prometheus.ready >= prometheus.desired && prometheus.desired > 0,
      ...(signal ? { signal } : {}),
    });
  }

  /** `spec.paused`: only the status says so; nothing is applied. */
  private async updatePausedStatus(client: ResourceClient, demo: DefaultedObservabilityDemo): Promise<void> {
    await this.writeStatus(client, demo, {
      ...demo.status,
      phase: 'Paused',
      conditions: setConditions(
        demo.status?.conditions ?? [],
        [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'Paused',
            message: 'spec.paused is true: nothing is applied',
          },
        ],
        demo.metadata?.generation ?? 0,
        this.now(),
      ),
    });
  }

  /**
   * A failed phase: unless the reconcile was aborted (which writes nothing more), a Warning Event and
   * Degraded=True with the error; then the error is thrown on, for the controller to retry with backoff.
   */
  private async reportFailure(
    client: ResourceClient,
    demo: DefaultedObservabilityDemo,
    reason: FailureReason,
    error: unknown,
    signal: AbortSignal | undefined,
  ): Promise<never> {
    signal?.throwIfAborted();
    const message = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    this.deps.recordEvent?.(demo, 'Warning', reason, message);
    const conditions = setConditions(
      demo.status?.conditions ?? [],
      [{ type: 'Degraded', status: 'True', reason, message }],
      demo.metadata?.generation ?? 0,
      this.now(),
    );
    await this.writeStatus(client, demo, { ...demo.status, phase: 'Degraded', conditions });
    throw error;
  }

  /** Writes status only when it changed, so a resync of an unchanged demo writes nothing. */
  private async writeStatus(
    client: ResourceClient,
    demo: DefaultedObservabilityDemo,
    status: ObservabilityDemoStatus,
  ): Promise<void> {
    if (canonicalJson(status) === canonicalJson(demo.status ?? {})) return;
    await client.apply(
      {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: id(demo).name, namespace: id(demo).namespace },
        status,
      } as Unstructured,
      FIELD_MANAGER,
      { subresource: 'status' },
    );
  }
}

/** Ready and desired replicas of each rendered Deployment and StatefulSet, from its live state. */
function readComponents(
  desired: Unstructured[],
  live: readonly (Unstructured | undefined)[],
): ComponentStatus[] {
  const components: ComponentStatus[] = [];
  for (const [i, w] of desired.entries()) {
    if (!WORKLOAD_KINDS.has(w.kind)) continue;
    const state = live[i] as
      | {
          metadata?: { generation?: number };
          spec?: { replicas?: number };
          status?: { readyReplicas?: number; updatedReplicas?: number; observedGeneration?: number };
        }
      | undefined;
    const desiredReplicas = state?.spec?.replicas ?? 1;
    const current = state?.status?.observedGeneration === state?.metadata?.generation;
    const ready = current
      ? Math.min(state?.status?.readyReplicas ?? 0, state?.status?.updatedReplicas ?? 0)
      : 0;
    const labels = w.metadata.labels ?? {};
    components.push({
      name: labels['app.kubernetes.io/name'] ?? w.metadata.name,
      kind: w.kind as 'Deployment' | 'StatefulSet',
      ready,
      desired: desiredReplicas,
      ...(labels['app.kubernetes.io/version'] ? { version: labels['app.kubernetes.io/version'] } : {}),
    });
  }
  return components;
}

/** Ready, Progressing and Degraded (as no phase failed) from the workloads' readiness. */
function workloadConditions(components: ComponentStatus[]): ObservedCondition[] {
  const notReady = components
    .filter((c) => c.ready < c.desired)
    .map((c) => `${c.name} ${c.ready}/${c.desired}`);
  const waiting = `waiting for ${notReady.join(', ')}`;
  return [
    notReady.length === 0
      ? {
          type: 'Ready',
          status: 'True',
          reason: 'AllComponentsReady',
          message: `${components.length} components ready`,
        }
      : { type: 'Ready', status: 'False', reason: 'ComponentsNotReady', message: waiting },
    notReady.length === 0
      ? {
          type: 'Progressing',
          status: 'False',
          reason: 'RolloutComplete',
          message: 'every component is up to date',
        }
      : { type: 'Progressing', status: 'True', reason: 'RollingOut', message: waiting },
    {
      type: 'Degraded',
      status: 'False',
      reason: 'AsExpected',
      message: 'rendered and applied without errors',
    },
  ];
}

/** Name, namespace and uid of a demo read from the API server, where they are always set. */
function id(demo: DefaultedObservabilityDemo): { name: string; namespace: string; uid: string } {
  const { name, namespace, uid } = demo.metadata ?? {};
  if (!name || !namespace || !uid)
    throw new Error('an ObservabilityDemo from the API server lacks name, namespace or uid');
  return { name, namespace, uid };
}

function ownerRef(demo: DefaultedObservabilityDemo) {
  const { name, uid } = id(demo);
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A full comparison of a demo's render with the live objects, as `DemoReconciler.remember` records it. */
interface FullComparison {
  renderKey: string;
  generation: number | undefined;
  /** When it started (ms since the epoch). */
  at: number;
  /** uid and generation of each rendered workload afterwards, by refKey. */
  workloads: Map<string, { uid?: string | undefined; generation?: number | undefined }>;
}

function toRef(o: Unstructured): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
}

/** Fields that the API server rewrites or that are ours only in intent, left out of the drift comparison. */
function stripForCompare(o: Unstructured): Unstructured {
  const { ownerReferences: _owners, ...metadata } = o.metadata;
  return { ...o, metadata } as Unstructured;
}

/** `fn` over `items` with at most `limit` calls in flight; results in the order of `items`. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
