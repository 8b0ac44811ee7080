import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { ManagedProcess, ProcessStartError, waitUntilReady } from '../process/managed-process.js';
import { freePort } from '../process/ports.js';
import { chownTo, makeTempDir, removeTempDir } from './temp-dirs.js';

export interface PostgresOptions {
  /** Directory with initdb and postgres; defaults to the newest /usr/lib/postgresql/<ver>/bin. */
  binDir?: string;
  user?: string;
}

export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** URL of the default `postgres` database. */
  readonly url: string;
  urlFor(database: string): string;
  createDatabase(name: string): Promise<string>;
  readonly running: boolean;
  /** Stops the server and deletes its data. */
  stop(): Promise<void>;
  /** Stops the server but keeps its data, to simulate an outage; `start()` ends it. */
  halt(): Promise<void>;
  /** Starts a halted server again on the same port with the same data; does nothing while it runs. */
  start(): Promise<void>;
  /** Stops and starts again on the same port with the same data (a crash-restart for tests). */
  restart(): Promise<void>;
}

export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql',
    );
  }
  return join(root, versions[0], 'bin');
}

/** PostgreSQL refuses to run as root, so as root everything runs as the `postgres` system user. */
function runAs(): string | undefined {
  return process.getuid?.() === 0 ? 'postgres' : undefined;
}

async function runToCompletion(spec: Parameters<typeof ManagedProcess.start>[0]): Promise<void> {
  const proc = ManagedProcess.start(spec);
  const exit = await proc.exited;
  if (exit.code !== 0) {
    throw new ProcessStartError(spec.name, `failed with code ${String(exit.code)}`, proc.logTail());
  }
}

/** A throw-away PostgreSQL on 127.0.0.1 with a generated password; fsync is off because tests don't need it. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binDir = options.binDir ?? postgresBinDir();
  const owner = runAs();
  const dir = makeTempDir('obsdemo-pg-', owner);
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const user = options.user ?? 'obsdemo';
  const password = randomBytes(18).toString('base64url');
  const pwFile = join(dir, 'pwfile');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  writeFileSync(logFile, '');
  if (owner !== undefined) {
    chownTo(pwFile, owner);
    chownTo(logFile, owner);
  }

  await runToCompletion({
    name: 'initdb',
    command: join(binDir, 'initdb'),
    args: [
      '-D',
      dataDir,
      '-U',
      user,
      `--pwfile=${pwFile}`,
      '-A',
      'scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ],
    logFile,
    user: owner,
  });
  rmSync(pwFile);

  const port = await freePort();
  let proc: ManagedProcess | undefined;
  const host = '127.0.0.1';
  const urlFor = (db: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(db)}`;

  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: urlFor('postgres') });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  const start = async () => {
    if (proc?.running) return;
    proc = ManagedProcess.start({
      name: 'postgres',
      command: join(binDir, 'postgres'),
      args: [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        `listen_addresses=${host}`,
        '-c',
        `unix_socket_directories=${dir}`,
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=200',
      ],
      logFile,
      user: owner,
    });
    const running = proc;
    await waitUntilReady(running, 'accepting connections', async () => {
      await query('SELECT 1');
      return true;
    });
  };

  const halt = async () => {
    if (!proc?.running || proc.pid === undefined) return;
    // SIGTERM is PostgreSQL's "smart" mode, which waits for every client to leave; SIGINT is "fast".
    process.kill(proc.pid, 'SIGINT');
    await proc.stop(15_000);
  };

  await start();

  return {
    host,
    port,
    user,
    password,
    url: urlFor('postgres'),
    urlFor,
    get running() {
      return proc?.running ?? false;
    },
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name: ${name}`);
      await query(`CREATE DATABASE ${name}`);
      return urlFor(name);
    },
    async stop() {
      await halt();
      removeTempDir(dir);
    },
    halt,
    start,
    async restart() {
      await halt();
      await start();
    },
  };
}
