/**
 * How the embedded demo turns a container spec that the operator applied (rendered from our charts) into the
 * environment of a local process. The rules are few and exact, and anything they do not cover is an error rather
 * than a silent difference between the demo and the charts:
 * - `value` is kept; `valueFrom` reads the Secret or ConfigMap key from the cluster, or the pod's name, namespace or
 *   IP (127.0.0.1); every other source is an error, as is `envFrom`;
 * - a `<X>_HOST` of 0.0.0.0 (the pod binds all interfaces) becomes 127.0.0.1, and its `<X>_PORT` the local port that
 *   stands in for that container port;
 * - a `<X>_HOST` naming a Service becomes 127.0.0.1, and its `<X>_PORT` the local port behind that Service port;
 * - `<service>[.<namespace>[.svc[.cluster.local]]]:<port>` inside any value (URLs, lists of URLs) becomes
 *   127.0.0.1:<local port>;
 * - afterwards no value may still name a Service of the namespace.
 */

/** A local process's address standing in for a Service port. */
export interface LocalEndpoint {
  host: string;
  port: number;
}

/** Service name → Service port → local endpoint. */
export type ServiceAddressMap = ReadonlyMap<string, ReadonlyMap<number, LocalEndpoint>>;

export interface EnvVarSource {
  secretKeyRef?: { name?: string; key: string; optional?: boolean };
  configMapKeyRef?: { name?: string; key: string; optional?: boolean };
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: EnvVarSource;
}

export interface ContainerSpec {
  name: string;
  env?: EnvVar[];
  envFrom?: unknown[];
  ports?: { name?: string; containerPort: number }[];
}

export interface TranslationContext {
  /** Workload name, for error messages. */
  workload: string;
  namespace: string;
  /** The pod the process stands in for (its name for fieldRef metadata.name). */
  podName: string;
  services: ServiceAddressMap;
  /** Container port → the local port this process listens on instead. */
  ownPorts: ReadonlyMap<number, number>;
  secret(name: string, key: string): string | undefined;
  configMap(name: string, key: string): string | undefined;
}

const LOOPBACK = '127.0.0.1';

function fail(ctx: TranslationContext, container: string, variable: string, problem: string): never {
  throw new Error(`embedded demo: ${ctx.workload}/${container} env ${variable}: ${problem}`);
}

function resolveValue(ctx: TranslationContext, container: string, v: EnvVar): string | undefined {
  if (v.valueFrom === undefined) return v.value ?? '';
  const from = v.valueFrom;
  if (from.secretKeyRef !== undefined) {
    const { name = '', key, optional } = from.secretKeyRef;
    const value = ctx.secret(name, key);
    if (value === undefined && optional !== true)
      fail(ctx, container, v.name, `Secret ${name} has no key ${key}`);
    return value;
  }
  if (from.configMapKeyRef !== undefined) {
    const { name = '', key, optional } = from.configMapKeyRef;
    const value = ctx.configMap(name, key);
    if (value === undefined && optional !== true)
      fail(ctx, container, v.name, `ConfigMap ${name} has no key ${key}`);
    return value;
  }
  if (from.fieldRef !== undefined) {
    switch (from.fieldRef.fieldPath) {
      case 'metadata.name':
        return ctx.podName;
      case 'metadata.namespace':
        return ctx.namespace;
      case 'status.podIP':
        return LOOPBACK;
      default:
        return fail(ctx, container, v.name, `fieldRef ${from.fieldRef.fieldPath} is not translated`);
    }
  }
  return fail(ctx, container, v.name, 'this valueFrom source is not translated');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The Service a host name means: `svc`, `svc.ns`, `svc.ns.svc` or `svc.ns.svc.cluster.local`. */
function serviceOfHost(ctx: TranslationContext, host: string): string | undefined {
  for (const suffix of [
    '',
    `.${ctx.namespace}`,
    `.${ctx.namespace}.svc`,
    `.${ctx.namespace}.svc.cluster.local`,
  ]) {
    if (host.endsWith(suffix)) {
      const name = host.slice(0, host.length - suffix.length);
      if (ctx.services.has(name)) return name;
    }
  }
  return undefined;
}

function rewriteAddresses(ctx: TranslationContext, container: string, name: string, value: string): string {
  let out = value;
  for (const [service, ports] of ctx.services) {
    const host = `${escapeRegExp(service)}(?:\\.${escapeRegExp(ctx.namespace)}(?:\\.svc(?:\\.cluster\\.local)?)?)?`;
    const pattern = new RegExp(`(?<![\\w.-])${host}:(\\d+)(?![\\d])`, 'g');
    out = out.replace(pattern, (_match, port: string) => {
      const local = ports.get(Number(port));
      if (local === undefined)
        fail(ctx, container, name, `Service ${service} has no port ${port} running locally`);
      return `${local.host}:${local.port}`;
    });
  }
  return out;
}

/**
 * `value` with every `<service>[.<namespace>[.svc[.cluster.local]]]:<port>` replaced by its local endpoint, by the
 * same rule as environment values; a Service of `services` without that port running locally is an error, and so
 * is a value that still names a Service of the namespace afterwards. For configuration files (the Collector's
 * exporters) rather than environment variables.
 */
export function localAddress(
  services: ServiceAddressMap,
  namespace: string,
  what: string,
  value: string,
): string {
  const ctx: TranslationContext = {
    workload: what,
    namespace,
    podName: '',
    services,
    ownPorts: new Map(),
    secret: () => undefined,
    configMap: () => undefined,
  };
  const local = rewriteAddresses(ctx, 'config', value, value);
  assertNamesNoService(ctx, 'config', value, local);
  return local;
}

/** The local environment for `container`, by the rules at the top of this file. */
export function localEnv(ctx: TranslationContext, container: ContainerSpec): Record<string, string> {
  if (container.envFrom !== undefined && container.envFrom.length > 0) {
    fail(ctx, container.name, 'envFrom', 'envFrom is not translated; list the variables in env');
  }
  const env: Record<string, string> = {};
  for (const v of container.env ?? []) {
    const value = resolveValue(ctx, container.name, v);
    if (value !== undefined) env[v.name] = value;
  }

  // <X>_HOST first: it decides what its <X>_PORT means.
  const portMeaning = new Map<string, { bind: true } | { service: string }>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.endsWith('_HOST')) continue;
    const prefix = name.slice(0, -'_HOST'.length);
    if (value === '0.0.0.0') {
      env[name] = LOOPBACK;
      portMeaning.set(prefix, { bind: true });
      continue;
    }
    const service = serviceOfHost(ctx, value);
    if (service !== undefined) {
      env[name] = LOOPBACK;
      portMeaning.set(prefix, { service });
    }
  }
  for (const [prefix, meaning] of portMeaning) {
    const portVar = `${prefix}_PORT`;
    const raw = env[portVar];
    if (raw === undefined) continue;
    const port = Number(raw);
    if ('bind' in meaning) {
      const local = ctx.ownPorts.get(port);
      if (local === undefined) fail(ctx, container.name, portVar, `${raw} is not a declared container port`);
      env[portVar] = String(local);
    } else {
      const local = ctx.services.get(meaning.service)?.get(port);
      if (local === undefined)
        fail(ctx, container.name, portVar, `Service ${meaning.service} has no port ${raw} running locally`);
      env[portVar] = String(local.port);
    }
  }

  for (const [name, value] of Object.entries(env)) {
    if (name.endsWith('_HOST') || name.endsWith('_PORT')) continue;
    env[name] = rewriteAddresses(ctx, container.name, name, value);
  }

  for (const [name, value] of Object.entries(env)) assertNamesNoService(ctx, container.name, name, value);
  return env;
}

function assertNamesNoService(ctx: TranslationContext, container: string, name: string, value: string): void {
  for (const service of ctx.services.keys()) {
    if (new RegExp(`(?<![\\w.-])${escapeRegExp(service)}(?![\\w-])`).test(value)) {
      fail(
        ctx,
        container,
        name,
        `"${value}" names Service ${service} in a form this demo does not translate`,
      );
    }
  }
}

/** What the pod's prometheus.io/* annotations ask Prometheus to scrape, as a local port and path. */
export function scrapeEndpoint(
  annotations: Readonly<Record<string, string>> | undefined,
  ownPorts: ReadonlyMap<number, number>,
): { port: number; path: string } | undefined {
  if (annotations?.['prometheus.io/scrape'] !== 'true') return undefined;
  const declared = Number(annotations['prometheus.io/port']);
  const port = ownPorts.get(declared);
  if (port === undefined) return undefined;
  return { port, path: annotations['prometheus.io/path'] ?? '/metrics' };
}
