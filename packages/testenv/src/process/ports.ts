import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports are picked *outside* the kernel's ephemeral range. A port found free is released before the process
 * that will use it binds it, and in between every outgoing connection on the machine (Prometheus scraping,
 * a pg pool, a NATS client) takes its local port from the ephemeral range: a port from that range, as
 * `listen(0)` returns, can be taken in that window and the process then fails with EADDRINUSE. Outside the
 * range only another listener can take it, and each pick is random and probed.
 */
const PROBE_ATTEMPTS = 200;
const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high))
      return [low, high];
  } catch {
    // Not Linux: the IANA range is the usual default elsewhere.
  }
  return [49152, 65535];
}

/** The ports to pick from: the widest span outside the ephemeral range and above the privileged ports. */
export function pickRange(ephemeral: [number, number] = ephemeralRange()): [number, number] {
  const [low, high] = ephemeral;
  const below: [number, number] = [10_000, low - 1];
  const above: [number, number] = [high + 1, 65_535];
  const width = ([a, b]: [number, number]) => b - a;
  const best = width(below) >= width(above) ? below : above;
  // A machine whose ephemeral range covers almost everything: fall back to the kernel's choice.
  return width(best) >= 1_000 ? best : [0, 0];
}

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = address !== null && typeof address !== 'string' ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** The span freePort picks from, read once per process. */
let range: [number, number] | undefined;

/** A free TCP port on 127.0.0.1, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  range ??= pickRange();
  const [low, high] = range;
  for (let attempt = 0; attempt < PROBE_ATTEMPTS; attempt++) {
    const candidate = low === 0 ? 0 : low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(candidate)) continue;
    const port = await probe(candidate);
    if (port !== undefined && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found in ${PROBE_ATTEMPTS} attempts between ${low} and ${high}`);
}

/** Returns `count` distinct free ports. */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) ports.push(await freePort());
  return ports;
}
