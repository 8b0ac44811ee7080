import { join } from 'node:path';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePorts } from '../process/ports.js';
import { makeTempDir, removeTempDir } from './temp-dirs.js';

export interface NatsOptions {
  binary?: string;
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly monitorUrl: string;
  readonly storeDir: string;
  readonly running: boolean;
  /** Stops the server but keeps its JetStream store, to simulate an outage. */
  stop(): Promise<void>;
  /** Starts again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops and deletes the store. */
  dispose(): Promise<void>;
}

/** nats-server with JetStream on 127.0.0.1, its store in a temp dir. */
export async function startNats(options: NatsOptions = {}): Promise<NatsServer> {
  const binary = options.binary ?? '/usr/sbin/nats-server';
  const dir = makeTempDir('obsdemo-nats-');
  const storeDir = join(dir, 'jetstream');
  const logFile = join(dir, 'nats-server.log');
  const [port, monitorPort] = (await freePorts(2)) as [number, number];
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  let proc: ManagedProcess | undefined;

  const start = async () => {
    if (proc?.running) return;
    proc = ManagedProcess.start({
      name: 'nats-server',
      command: binary,
      args: ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', storeDir],
      logFile,
    });
    await waitUntilReady(proc, 'serving JetStream', async () => {
      const res = await fetch(`${monitorUrl}/healthz?js-enabled-only=true`);
      return res.ok;
    });
  };

  const stop = async () => {
    await proc?.stop(10_000);
  };

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    storeDir,
    get running() {
      return proc?.running ?? false;
    },
    stop,
    start,
    async dispose() {
      await stop();
      removeTempDir(dir);
    },
  };
}
