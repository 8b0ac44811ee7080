import {
  startNats,
  startPostgres,
  startServiceProcess,
  type NatsServer,
  type PostgresServer,
  type ServiceProcess,
} from '@obsdemo/testenv';

export { pollUntil as eventually } from '@obsdemo/testenv';

const PRELOAD = ['--import', '@obsdemo/telemetry/register'];

export interface Backend {
  pg: PostgresServer;
  nats: NatsServer;
  catalog: ServiceProcess;
  stop(): Promise<void>;
}

/** Postgres, NATS and a real catalog process: the upstream behind the gateway. */
export async function startBackend(database: string, otel: Record<string, string> = {}): Promise<Backend> {
  const pg = await startPostgres();
  const nats = await startNats();
  await pg.createDatabase(database);
  const catalog = await startServiceProcess({
    service: 'catalog',
    portEnv: 'CATALOG_PORT',
    nodeArgs: PRELOAD,
    env: {
      CATALOG_HOST: '127.0.0.1',
      DB_HOST: pg.host,
      DB_PORT: String(pg.port),
      DB_NAME: database,
      DB_USER: pg.user,
      DB_PASSWORD: pg.password,
      NATS_URL: nats.url,
      OTEL_SERVICE_NAME: 'catalog',
      ...otel,
    },
  });
  return {
    pg,
    nats,
    catalog,
    async stop() {
      await catalog.stop();
      await nats.dispose();
      await pg.stop();
    },
  };
}

/** A real processor process (its own database) calling the given catalog. */
export async function startProcessor(backend: Backend, database: string): Promise<ServiceProcess> {
  await backend.pg.createDatabase(database);
  return startServiceProcess({
    service: 'processor',
    portEnv: 'PROCESSOR_PORT',
    nodeArgs: PRELOAD,
    env: {
      PROCESSOR_HOST: '127.0.0.1',
      DB_HOST: backend.pg.host,
      DB_PORT: String(backend.pg.port),
      DB_NAME: database,
      DB_USER: backend.pg.user,
      DB_PASSWORD: backend.pg.password,
      CATALOG_URL: backend.catalog.url,
      OTEL_SERVICE_NAME: 'processor',
    },
  });
}

export function startGateway(env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'gateway',
    portEnv: 'GATEWAY_PORT',
    nodeArgs: PRELOAD,
    env: { GATEWAY_HOST: '127.0.0.1', OTEL_SERVICE_NAME: 'gateway', ...env },
  });
}

export function startLoadgen(env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess({
    service: 'loadgen',
    portEnv: 'LOADGEN_PORT',
    nodeArgs: PRELOAD,
    env: { LOADGEN_HOST: '127.0.0.1', OTEL_SERVICE_NAME: 'loadgen', ...env },
  });
}

export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`${url}: status ${res.status} with a non-JSON body: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/** Sum of a Prometheus counter's samples whose labels include every given label. */
export async function counter(base: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  // Label values may contain `}` (route templates do), so the label set is matched value by value.
  const sample = new RegExp(`^${name}\\{((?:\\w+="(?:[^"\\\\]|\\\\.)*",?)*)\\} (\\S+)`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = sample.exec(line);
    if (!match) continue;
    const labelText = match[1] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[2]);
  }
  return sum;
}
