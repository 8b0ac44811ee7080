import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of /proc/<pid>/stat times, 100 on Linux. */
const CLK_TCK = 100;

/** A process's peak and current resident memory (VmHWM, VmRSS in /proc/<pid>/status), in MB. */
export function processRssMb(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

/**
 * User + system CPU seconds a process has used so far (/proc/<pid>/stat fields 14 and 15). Per unit of work this
 * does not depend on how much of a shared machine other work left, unlike a rate, so it is the steadier figure.
 */
export function processCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * User + system CPU seconds of a process's main thread alone (/proc/<pid>/task/<pid>/stat), where Node runs
 * JavaScript. The rest of processCpuSeconds is its other threads: V8's (parallel scavenges, concurrent marking,
 * background compilation), libuv's pool, and any other thread node starts.
 */
export function mainThreadCpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(file: string): number {
  const stat = readFileSync(file, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}
