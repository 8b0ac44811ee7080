// A memory cgroup with a limit, for running a process as its pod would: the kernel charges it (and its children)
// the same way and kills it past the limit, and Node sizes V8's heap from the limit (process.constrainedMemory()),
// as it does in a container. cgroup v1 (memory controller) and v2 are both handled; where neither can be written
// (not root, or a v2 parent without the memory controller delegated) the caller gets the reason and runs unlimited.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MemoryCgroup {
  version: 1 | 2;
  dir: string;
  limitBytes: number;
  /** The file a process writes its pid into to join (the shell wrapper of `joinAndExec`). */
  procsFile: string;
  /** The highest memory the cgroup was charged, or undefined where the kernel does not keep it (v2 before 5.19). */
  peakBytes(): number | undefined;
  /** Processes the kernel killed for the limit. */
  oomKills(): number;
  remove(): void;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

function readNumber(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const value = Number(readFileSync(file, 'utf8').trim());
  return Number.isFinite(value) ? value : undefined;
}

function oomKillsIn(file: string): number {
  const match = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
  return Number(match?.[1] ?? 0);
}

/** The files of each cgroup version: the limit, the highest charge, and the counter of kills for the limit. */
const FILES = {
  1: { limit: 'memory.limit_in_bytes', peak: 'memory.max_usage_in_bytes', events: 'memory.oom_control' },
  2: { limit: 'memory.max', peak: 'memory.peak', events: 'memory.events' },
} as const;

function limitedChild(version: 1 | 2, dir: string, limitBytes: number): MemoryCgroup {
  const files = FILES[version];
  mkdirSync(dir);
  try {
    writeFileSync(join(dir, files.limit), String(limitBytes));
  } catch (error) {
    rmdirSync(dir);
    throw error;
  }
  return {
    version,
    dir,
    limitBytes,
    procsFile: join(dir, 'cgroup.procs'),
    peakBytes: () => readNumber(join(dir, files.peak)),
    oomKills: () => oomKillsIn(join(dir, files.events)),
    remove: () => rmdirSync(dir),
  };
}

/** Creates a child of this process's memory cgroup limited to `limitBytes`; a string says why it could not. */
export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup | string {
  const lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  const v1 = lines
    .map((l) => /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/.exec(l)?.[1])
    .find((p) => p !== undefined);
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  try {
    if (v1 !== undefined && existsSync(join(CGROUP_ROOT, 'memory')))
      return limitedChild(1, join(CGROUP_ROOT, 'memory', v1, name), limitBytes);
    if (
      v2 !== undefined &&
      readFileSync(join(CGROUP_ROOT, 'cgroup.controllers'), 'utf8').includes('memory')
    ) {
      const parent = join(CGROUP_ROOT, v2);
      if (!readFileSync(join(parent, 'cgroup.subtree_control'), 'utf8').includes('memory'))
        writeFileSync(join(parent, 'cgroup.subtree_control'), '+memory');
      return limitedChild(2, join(parent, name), limitBytes);
    }
    return 'no memory cgroup controller is mounted';
  } catch (error) {
    return `cannot create a memory cgroup: ${(error as Error).message}`;
  }
}

/**
 * The command and arguments that start `command args...` inside `cgroup`: a shell joins it and then execs the
 * command, so the process (and everything it starts) is charged from its first instruction, and its pid is the
 * command's own.
 */
export function joinAndExec(cgroup: MemoryCgroup, command: string, args: string[]): [string, string[]] {
  return ['sh', ['-c', 'echo $$ > "$0" && exec "$@"', cgroup.procsFile, command, ...args]];
}

/** A Kubernetes memory quantity in bytes (Ki, Mi, Gi, or plain bytes). */
export function quantityBytes(quantity: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(quantity.trim());
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[match[2] as 'Ki' | 'Mi' | 'Gi'] ?? 1;
  return Number(match[1]) * unit;
}
