import {
  startNats,
  startPostgres,
  startServiceProcess,
  type NatsServer,
  type PostgresServer,
  type ServiceProcess,
} from '@obsdemo/testenv';
import pg from 'pg';

export { buildServices, pollUntil as eventually } from '@obsdemo/testenv';

const PRELOAD = ['--import', '@obsdemo/telemetry/register'];

export interface Dataplane {
  pg: PostgresServer;
  nats: NatsServer;
  stop(): Promise<void>;
}

/** What the service processes need of a dataplane: Postgres, and the NATS URL(s), of one server or a cluster. */
export interface ServiceDataplane {
  pg: PostgresServer;
  nats: { readonly url: string };
}

export async function startDataplane(): Promise<Dataplane> {
  const pgServer = await startPostgres();
  const nats = await startNats().catch(async (error: unknown) => {
    await pgServer.stop();
    throw error;
  });
  return {
    pg: pgServer,
    nats,
    async stop() {
      await nats.dispose();
      await pgServer.stop();
    },
  };
}

function dbEnv(dp: ServiceDataplane, database: string): Record<string, string> {
  return {
    DB_HOST: dp.pg.host,
    DB_PORT: String(dp.pg.port),
    DB_NAME: database,
    DB_USER: dp.pg.user,
    DB_PASSWORD: dp.pg.password,
  };
}

export async function startCatalogProcess(
  dp: ServiceDataplane,
  database: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  await dp.pg.createDatabase(database);
  return startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: PRELOAD,
    env: {
      CATALOG_HOST: '127.0.0.1',
      ...dbEnv(dp, database),
      NATS_URL: dp.nats.url,
      OUTBOX_POLL_MS: '100',
      OUTBOX_PUBLISH_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'warn',
      OTEL_SERVICE_NAME: 'catalog',
      ...extra,
    },
  });
}

export async function startInvoicesProcess(
  dp: ServiceDataplane,
  database: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  await dp.pg.createDatabase(database);
  return startInvoicesReplica(dp, database, extra);
}

/** Another invoices process on a database an earlier startInvoicesProcess created: a further replica. */
export function startInvoicesReplica(
  dp: ServiceDataplane,
  database: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'invoices',
    portEnv: 'INVOICES_PORT',
    nodeArgs: PRELOAD,
    env: {
      INVOICES_HOST: '127.0.0.1',
      ...dbEnv(dp, database),
      NATS_URL: dp.nats.url,
      // Messages fetched by a killed process come back after this long.
      CONSUMER_ACK_WAIT_MS: '2000',
      CONSUMER_RETRY_BASE_MS: '50',
      CONSUMER_RETRY_MAX_MS: '500',
      LOG_LEVEL: 'warn',
      OTEL_SERVICE_NAME: 'invoices',
      ...extra,
    },
  });
}

export async function startProcessorProcess(
  dp: ServiceDataplane,
  database: string,
  catalogUrl: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  await dp.pg.createDatabase(database);
  return startProcessorReplica(dp, database, catalogUrl, extra);
}

/** Another processor process on a database an earlier startProcessorProcess created: a further replica. */
export function startProcessorReplica(
  dp: ServiceDataplane,
  database: string,
  catalogUrl: string,
  extra: Record<string, string> = {},
): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'processor',
    portEnv: 'PROCESSOR_PORT',
    nodeArgs: PRELOAD,
    env: {
      PROCESSOR_HOST: '127.0.0.1',
      ...dbEnv(dp, database),
      CATALOG_URL: catalogUrl,
      CATALOG_TIMEOUT_MS: '1000',
      CATALOG_RETRIES: '1',
      CATALOG_RETRY_BASE_MS: '20',
      JOB_POLL_MS: '100',
      LOG_LEVEL: 'warn',
      OTEL_SERVICE_NAME: 'processor',
      ...extra,
    },
  });
}

/** A SQL query against one of the test databases. */
export async function sql<T extends Record<string, unknown>>(
  dp: ServiceDataplane,
  database: string,
  text: string,
): Promise<T[]> {
  const client = new pg.Client({ connectionString: dp.pg.urlFor(database) });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

export interface JsonResponse {
  status: number;
  body: Record<string, unknown>;
}

export async function request(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new Error(`${method} ${path}: status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
}

/** One sample of a Prometheus metric from a /metrics page, 0 when absent. */
export async function metricValue(
  base: string,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const match = /^[^{]+\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const found = Object.fromEntries(
      [...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total += Number(match[2]);
  }
  return total;
}
