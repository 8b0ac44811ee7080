/**
 * Whether every field we would apply already has that value in the live object. The API server adds defaults and
 * status, so the live object is a superset of what we rendered; a field we render that differs (someone scaled a
 * Deployment, edited a ConfigMap) is drift and needs an apply. An empty object, empty list or null we render is
 * satisfied by a missing field, because the API server drops them.
 */
export function isSubset(desired: unknown, live: unknown): boolean {
  if (isEmpty(desired)) return live === undefined || isEmpty(live) || typeof live === typeof desired;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) && live.length === desired.length && desired.every((d, i) => isSubset(d, live[i]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return false;
    const l = live as Record<string, unknown>;
    return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isSubset(v, l[k]));
  }
  // Numbers the API server may echo as strings (e.g. intstr ports) compare by their text.
  if (typeof desired === 'number' && typeof live === 'string') return String(desired) === live;
  return desired === live;
}

function isEmpty(v: unknown): boolean {
  if (v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

/** One entry of `metadata.managedFields`: who owns which fields (a FieldsV1 set), and how they were written. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
}

/**
 * Whether `manager`'s server-side apply owns a field of the live object that `desired` no longer contains: a
 * ConfigMap key, label or annotation the charts stopped rendering. isSubset cannot see that (the live object is a
 * superset anyway); applying `desired` again with the same field manager removes such a field, unless another
 * manager also owns it. Fields other managers own alone (a label added with kubectl, replicas an autoscaler set)
 * are not in our set, so they never count as drift.
 *
 * Lenient where the set and the rendered object may legitimately differ in form: a list entry's key field the
 * API server defaulted (a port's `protocol`) matches when the rendered entry omits it, and a path prefix this
 * walk does not know counts as present. A false "removed" would cost an apply on every resync.
 */
export function ownsRemovedFields(desired: unknown, live: unknown, manager: string): boolean {
  const entries = (live as { metadata?: { managedFields?: ManagedFieldsEntry[] } } | undefined)?.metadata
    ?.managedFields;
  return (entries ?? []).some(
    (e) =>
      e.manager === manager &&
      e.operation === 'Apply' &&
      !e.subresource &&
      e.fieldsV1 !== undefined &&
      missingFrom(e.fieldsV1, desired),
  );
}

const ABSENT = Symbol('absent');
/** A key this walk cannot read: counted as present, and not descended into. */
const UNKNOWN = Symbol('unknown');

function missingFrom(fields: Record<string, unknown>, desired: unknown): boolean {
  for (const [key, children] of Object.entries(fields)) {
    if (key === '.') continue;
    const value = member(key, desired);
    if (value === ABSENT) return true;
    if (
      value !== UNKNOWN &&
      children !== null &&
      typeof children === 'object' &&
      Object.keys(children).length > 0 &&
      missingFrom(children as Record<string, unknown>, value)
    )
      return true;
  }
  return false;
}

/** The part of `desired` a FieldsV1 key (`f:name`, `k:{…}`, `v:…`, `i:n`) names, or ABSENT. */
function member(key: string, desired: unknown): unknown {
  const kind = key.slice(0, 2);
  const rest = key.slice(2);
  if (kind === 'f:') {
    if (desired === null || typeof desired !== 'object' || Array.isArray(desired)) return ABSENT;
    const v = (desired as Record<string, unknown>)[rest];
    return Object.hasOwn(desired, rest) && v !== undefined ? v : ABSENT;
  }
  if (kind === 'k:') {
    if (!Array.isArray(desired)) return ABSENT;
    const keys = parse(rest);
    if (keys === null || typeof keys !== 'object') return UNKNOWN;
    const found = desired.find(
      (item) =>
        item !== null &&
        typeof item === 'object' &&
        Object.entries(keys as Record<string, unknown>).every(([k, v]) => {
          const mine = (item as Record<string, unknown>)[k];
          return mine === undefined || sameScalar(mine, v);
        }),
    );
    return found === undefined ? ABSENT : found;
  }
  if (kind === 'v:') {
    if (!Array.isArray(desired)) return ABSENT;
    const wanted = parse(rest);
    const found = desired.find((item) => sameScalar(item, wanted));
    return found === undefined ? ABSENT : found;
  }
  if (kind === 'i:') {
    if (!Array.isArray(desired)) return ABSENT;
    const i = Number(rest);
    return Number.isInteger(i) && i < desired.length ? desired[i] : ABSENT;
  }
  return UNKNOWN;
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return String(a) === String(b);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * The replicas count to hand over before `desired` is applied, or undefined when there is none: `desired` is a
 * workload rendered without `spec.replicas` (a HorizontalPodAutoscaler owns the count) while `manager`'s apply
 * still owns the live object's `spec.replicas` (the count the demo had before autoscaling). Applying `desired`
 * would then drop the field, and the API server would reset it to 1 until the autoscaler scales up again; once
 * another manager also owns the field at its current value, the apply only gives up our claim and the pods stay.
 */
export function replicasToHandOver(desired: unknown, live: unknown, manager: string): number | undefined {
  const spec = (desired as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (spec === undefined || 'replicas' in spec) return undefined;
  const current = live as
    { metadata?: { managedFields?: ManagedFieldsEntry[] }; spec?: { replicas?: unknown } } | undefined;
  const replicas = current?.spec?.replicas;
  if (typeof replicas !== 'number') return undefined;
  const owned = (current?.metadata?.managedFields ?? []).some((e) => {
    const specFields = e.fieldsV1?.['f:spec'];
    return (
      e.manager === manager &&
      e.operation === 'Apply' &&
      !e.subresource &&
      specFields !== null &&
      typeof specFields === 'object' &&
      Object.hasOwn(specFields, 'f:replicas')
    );
  });
  return owned ? replicas : undefined;
}
