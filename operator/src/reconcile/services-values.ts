import type {
  DefaultedObservabilityDemo,
  DefaultedImageSpec,
  DefaultedEnvVar,
  ServiceName,
} from '../api/index.js';
import { SERVICE_NAMES } from '../api/index.js';
import { componentNames, generatedSecretNames } from './plan.js';

type EnvEntry = { name: string; value?: string; valueFrom?: unknown };

function image(spec: DefaultedImageSpec): Record<string, string> {
  return {
    repository: spec.repository ?? '',
    tag: spec.tag ?? '',
    pullPolicy: spec.pullPolicy ?? '',
  };
}

function env(entries: DefaultedEnvVar[] | undefined): EnvEntry[] {
  return (entries ?? []).map((e) => ({ name: e.name, value: e.value ?? '' }));
}

/** FAULT_* variables of one service from spec.faults (the services' fault-injection settings). */
function faultConfig(demo: DefaultedObservabilityDemo, service: ServiceName): Record<string, string> {
  const faults = (demo.spec.faults ?? []).filter((f) => f.service === service);
  const latency = faults.find((f) => f.type === 'latency');
  const error = faults.find((f) => f.type === 'error');
  return {
    FAULT_LATENCY_MS: String(latency?.latencyMs ?? 0),
    FAULT_LATENCY_PERCENT: String(latency?.percent ?? 0),
    FAULT_ERROR_PERCENT: String(error?.percent ?? 0),
  };
}

/**
 * Each loadgen process sends LOADGEN_RPS on its own, while spec.services.loadgen.requestsPerSecond is the total
 * across replicas: the rate is split between them, to the millisecond-request loadgen reads (three decimals).
 */
function perReplicaRate(total: number, replicas: number | undefined): string {
  const count = replicas === undefined || replicas < 1 ? 1 : replicas;
  return String(Math.round((total / count) * 1000) / 1000);
}

/** Per-service env the CR implies beyond what the chart wires itself (ports, backends, upstream URLs). */
function serviceConfig(
  demo: DefaultedObservabilityDemo,
  service: ServiceName,
): { config: Record<string, string>; env: EnvEntry[] } {
  const s = demo.spec.services;
  const fault = service === 'loadgen' ? {} : faultConfig(demo, service);
  switch (service) {
    case 'gateway': {
      const { rateLimit, auth } = s.gateway;
      const config: Record<string, string> = {
        ...fault,
        RATE_LIMIT_RPS: String(rateLimit.requestsPerSecond),
        RATE_LIMIT_BURST: String(rateLimit.burst),
        AUTH_MODE: auth.mode,
      };
      const extra: EnvEntry[] = [];
      if (auth.mode === 'jwt' && auth.jwt) {
        config.JWT_ISSUER = auth.jwt.issuer;
        config.JWT_AUDIENCE = auth.jwt.audience;
        if (auth.jwt.jwksUrl) config.JWT_JWKS_URL = auth.jwt.jwksUrl;
        if (auth.jwt.secretRef) {
          extra.push({
            name: 'JWT_JWKS',
            valueFrom: { secretKeyRef: { name: auth.jwt.secretRef.name, key: auth.jwt.secretRef.key } },
          });
        }
      }
      return { config, env: extra };
    }
    case 'loadgen': {
      const mix = s.loadgen.mix;
      const weights = Object.entries(mix)
        .filter(([, weight]) => weight !== undefined)
        .map(([scenario, weight]) => `${scenario}=${String(weight)}`)
        .join(',');
      return {
        config: {
          LOADGEN_RPS: perReplicaRate(s.loadgen.requestsPerSecond, s.loadgen.replicas),
          LOADGEN_MIX: weights,
        },
        env: [],
      };
    }
    case 'catalog': {
      const { cache } = s.catalog;
      return {
        config: {
          ...fault,
          CACHE_ENABLED: String(cache.enabled),
          CACHE_MAX_ENTRIES: String(cache.maxEntries),
          CACHE_TTL_SECONDS: String(cache.ttlSeconds),
        },
        env: [],
      };
    }
    default:
      return { config: fault, env: [] };
  }
}

/** Services whose spec has `autoscaling` (a HorizontalPodAutoscaler instead of a fixed replicas count). */
const SCALABLE_SERVICES: readonly ServiceName[] = ['catalog', 'processor', 'gateway'];

/** Services that keep state in Postgres. */
const DATABASE_SERVICES: readonly ServiceName[] = ['catalog', 'processor', 'invoices'];

/**
 * With `database.postgres.mode: external`, the server and credentials come from the user's Secret (keys host,
 * port, username, password, as the CRD documents). These entries replace the chart's DB_* variables in place.
 */
function externalDatabaseEnv(demo: DefaultedObservabilityDemo, service: ServiceName): EnvEntry[] {
  const ref = demo.spec.database.postgres.secretRef;
  if (demo.spec.database.postgres.mode !== 'external' || !ref || !DATABASE_SERVICES.includes(service))
    return [];
  const fromSecret = (name: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key } },
  });
  return [
    fromSecret('DB_HOST', 'host'),
    fromSecret('DB_PORT', 'port'),
    fromSecret('DB_USER', 'username'),
    fromSecret('DB_PASSWORD', 'password'),
  ];
}

/** The demo-services chart's values for a demo. Pure, so equal CRs render equally and hit the render cache. */
export function servicesValues(demo: DefaultedObservabilityDemo): Record<string, unknown> {
  const names = componentNames(demo);
  const secrets = generatedSecretNames(demo.metadata?.name ?? '');
  const postgres = demo.spec.database.postgres;
  const services: Record<string, unknown> = {};
  for (const name of SERVICE_NAMES) {
    const spec = demo.spec.services[name];
    const { config, env: extraEnv } = serviceConfig(demo, name);
    const autoscaling = 'autoscaling' in spec ? spec.autoscaling : undefined;
    services[name] = {
      enabled: spec.enabled,
      // With autoscaling the chart renders a HorizontalPodAutoscaler and leaves Deployment.spec.replicas out, so
      // the operator's apply never owns, and never resets, the count the autoscaler chose.
      replicas: spec.replicas ?? 1,
      ...(SCALABLE_SERVICES.includes(name)
        ? {
            autoscaling: autoscaling
              ? {
                  enabled: true,
                  minReplicas: autoscaling.minReplicas,
                  maxReplicas: autoscaling.maxReplicas,
                  targetCPUUtilizationPercentage: autoscaling.targetCPUUtilization,
                }
              : { enabled: false },
          }
        : {}),
      image: image(spec.image),
      resources: spec.resources ?? {},
      config,
      // The user's env overrides come last, so they win over what the operator derives.
      env: [...externalDatabaseEnv(demo, name), ...extraEnv, ...env(spec.env)],
    };
  }
  return {
    namePrefix: demo.metadata?.name ?? '',
    profile: demo.spec.profile,
    tracing: {
      enabled: true,
      otlpEndpoint: names.otlpEndpoint,
      samplingRatio: demo.spec.observability.tracing.samplingRatio,
    },
    // Logs also go over OTLP to the Collector only when it has a log store to write them to.
    logs: { otlp: demo.spec.observability.logs.backend === 'loki' },
    postgres: {
      host: postgres.mode === 'managed' ? names.postgresHost : '',
      secretName: postgres.mode === 'managed' ? secrets.postgres : (postgres.secretRef?.name ?? ''),
    },
    nats: {
      url: names.natsUrl,
      // A managed cluster keeps the ORDERS stream on every server; an external server's size is not ours to know.
      streamReplicas: demo.spec.messaging.nats.mode === 'managed' ? demo.spec.messaging.nats.replicas : 1,
    },
    services,
  };
}
