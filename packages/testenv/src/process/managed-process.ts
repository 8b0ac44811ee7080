import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ProcessSpec {
  /** Short name used in errors, e.g. "kube-apiserver". */
  name: string;
  command: string;
  args: readonly string[];
  /** stdout and stderr are appended to this file. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Keep running after this Node process exits (used by `make cluster-up`). Otherwise the child gets SIGKILL from
   * the kernel when this process dies, however it dies, so an interrupted test run leaves no orphans.
   */
  detached?: boolean;
  /** Run as this system user (used for PostgreSQL, which refuses to run as root). */
  user?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A failure to start or to become ready, naming the process and showing the tail of its log. */
export class ProcessStartError extends Error {
  constructor(
    readonly processName: string,
    reason: string,
    readonly logTail: string,
  ) {
    super(`${processName}: ${reason}\n--- last lines of its log ---\n${logTail}`);
    this.name = 'ProcessStartError';
  }
}

export function tailOfFile(path: string, lines = 25): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}

/**
 * A child process whose output goes to a log file. setpriv(1) sets the parent-death signal before exec, which
 * Node itself cannot do; it also drops to another user without the extra process that runuser/su leave behind.
 */
export class ManagedProcess {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', () => {
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
  }

  static start(spec: ProcessSpec): ManagedProcess {
    const wrapper: string[] = [];
    if (!spec.detached) wrapper.push('--pdeathsig', 'KILL');
    if (spec.user !== undefined)
      wrapper.push(`--reuid=${spec.user}`, `--regid=${spec.user}`, '--init-groups');
    const [command, args] =
      wrapper.length > 0
        ? ['setpriv', [...wrapper, '--', spec.command, ...spec.args]]
        : [spec.command, spec.args];
    const log = openSync(spec.logFile, 'a');
    try {
      const child = spawn(command, args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: ['ignore', log, log],
        detached: spec.detached ?? false,
      });
      if (spec.detached) child.unref();
      return new ManagedProcess(spec, child);
    } finally {
      closeSync(log);
    }
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  logTail(lines = 25): string {
    return tailOfFile(this.spec.logFile, lines);
  }

  /** Throws a ProcessStartError if the process has already exited. */
  assertRunning(): void {
    if (this.exit !== undefined) {
      const how = this.exit.signal !== null ? `signal ${this.exit.signal}` : `code ${String(this.exit.code)}`;
      throw new ProcessStartError(this.name, `exited during start-up with ${how}`, this.logTail());
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<Exit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: a crash, for fault-injection tests. */
  async kill(): Promise<Exit> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` until it returns true. Fails fast with the process's log tail if the process exits, and with the
 * same tail when `timeoutMs` passes.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    proc.assertRunning();
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      const detail = lastError ? ` (last error: ${lastError})` : '';
      throw new ProcessStartError(proc.name, `not ${what} after ${timeoutMs} ms${detail}`, proc.logTail());
    }
    await sleep(intervalMs);
  }
}
