import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePort } from '../process/ports.js';
import { makeTempDir } from './temp-dirs.js';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * The V8 flags the services' images start `node` with (the CMD of services/<name>/Dockerfile, where the reason is
 * written), so tests and benchmarks run them as their pods do.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

export interface ServiceProcessOptions {
  /** Workspace folder under services/, e.g. "catalog". Runs its built `dist/main.js` (`npm run build` first). */
  service: string;
  /** The service's environment (its config); PORT-like variables are the caller's to set, see `port`. */
  env: Record<string, string>;
  /** Name of the env variable that carries the listen port, e.g. "CATALOG_PORT"; a free port is put there. */
  portEnv: string;
  /** Where the log file goes; a fresh temp dir by default. */
  logDir?: string;
  /** The listen port, when the caller chose it already (e.g. to tell Prometheus); a free one by default. */
  port?: number;
  /** Extra `node` arguments before the entry point, e.g. `--import @obsdemo/telemetry/register`. */
  nodeArgs?: string[];
  /** Wraps the `node` command line, e.g. to start it in a memory cgroup; the process it execs keeps its pid. */
  launch?: (command: string, args: string[]) => [string, string[]];
  /** Path polled until it answers 200; `/ready` by default. */
  readyPath?: string;
  readyTimeoutMs?: number;
}

export interface ServiceProcess {
  readonly url: string;
  readonly port: number;
  readonly logFile: string;
  readonly running: boolean;
  /** Graceful stop: SIGTERM, then SIGKILL after the grace period. */
  stop(graceMs?: number): Promise<void>;
  /** A crash: SIGKILL. */
  kill(): Promise<void>;
  /** Starts the service again on the same port with the same env, and waits until it is ready. */
  start(): Promise<void>;
  /** Lines of the service's log so far (its JSON logs), parsed where they parse. */
  logs(): string;
}

/** One of our services as a real `node` process on loopback, as the demo and the charts run it. */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const entry = join(repoRoot, 'services', options.service, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} not found: run \`npm run build\` first`);
  const port = options.port ?? (await freePort());
  const dir = options.logDir ?? makeTempDir(`obsdemo-${options.service}-`);
  const logFile = join(dir, `${options.service}.log`);
  const url = `http://127.0.0.1:${port}`;
  let proc: ManagedProcess | undefined;

  const start = async () => {
    if (proc?.running) return;
    const [command, args] = (options.launch ?? ((c: string, a: string[]) => [c, a]))(process.execPath, [
      ...SERVICE_NODE_FLAGS,
      ...(options.nodeArgs ?? []),
      entry,
    ]);
    proc = ManagedProcess.start({
      name: options.service,
      command,
      args,
      env: { PATH: process.env.PATH ?? '', ...options.env, [options.portEnv]: String(port) },
      cwd: join(repoRoot, 'services', options.service),
      logFile,
    });
    const running = proc;
    try {
      await waitUntilReady(
        running,
        `ready (${options.readyPath ?? '/ready'})`,
        async () => (await fetch(`${url}${options.readyPath ?? '/ready'}`)).status === 200,
        options.readyTimeoutMs ?? 60_000,
      );
    } catch (error) {
      // Nobody holds a handle to a process that never got ready: stop it here rather than leave it on its port.
      await running.stop();
      throw error;
    }
  };

  await start();
  return {
    url,
    port,
    logFile,
    get running() {
      return proc?.running ?? false;
    },
    async stop(graceMs = 10_000) {
      await proc?.stop(graceMs);
    },
    async kill() {
      await proc?.kill();
    },
    start,
    logs() {
      return proc?.logTail(100_000) ?? '';
    },
  };
}
