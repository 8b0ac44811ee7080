import { describe, it, expect, afterAll } from '@jest/globals';
import { existsSync } from 'node:fs';
import pg from 'pg';
import { startNats, startPostgres, type NatsServer, type PostgresServer } from '@obsdemo/testenv';

const servers: { stop?: () => Promise<void>; dispose?: () => Promise<void> }[] = [];
afterAll(async () => {
  for (const s of servers) await (s.dispose ?? s.stop)?.();
});

async function scalar(url: string, sql: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows[0]?.v;
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  let server: PostgresServer;

  it('starts on loopback with a generated password and creates databases', async () => {
    server = await startPostgres();
    servers.push(server);
    expect(server.host).toBe('127.0.0.1');
    expect(server.password.length).toBeGreaterThanOrEqual(20);
    const url = await server.createDatabase('catalog_test');
    expect(await scalar(url, 'SELECT current_database() AS v')).toBe('catalog_test');
    const wrong = server.url.replace(encodeURIComponent(server.password), 'postgres');
    await expect(scalar(wrong, 'SELECT 1 AS v')).rejects.toThrow(/password authentication failed/);
  });

  it('keeps data across a restart on the same port', async () => {
    const url = server.urlFor('catalog_test');
    await scalar(url, 'CREATE TABLE kept (v int)');
    await scalar(url, 'INSERT INTO kept VALUES (42)');
    await server.restart();
    expect(await scalar(url, 'SELECT v FROM kept')).toBe(42);
  });

  it('refuses bad database names', async () => {
    await expect(server.createDatabase('x; DROP DATABASE postgres')).rejects.toThrow(/invalid database name/);
  });
});

describe('startNats', () => {
  let nats: NatsServer;

  it('serves JetStream and survives stop/start on the same port and store', async () => {
    nats = await startNats();
    servers.push(nats);
    const jsz = async () =>
      (await fetch(`${nats.monitorUrl}/jsz`)).json() as Promise<{ config?: { store_dir?: string } }>;
    expect((await jsz()).config?.store_dir).toContain(nats.storeDir);
    await nats.stop();
    expect(nats.running).toBe(false);
    await expect(fetch(`${nats.monitorUrl}/healthz`)).rejects.toThrow();
    await nats.start();
    expect(nats.running).toBe(true);
    expect((await fetch(`${nats.monitorUrl}/healthz`)).ok).toBe(true);
  });

  it('removes its store on dispose', async () => {
    await nats.dispose();
    expect(existsSync(nats.storeDir)).toBe(false);
  });
});
