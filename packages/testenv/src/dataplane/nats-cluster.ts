import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePorts } from '../process/ports.js';
import { makeTempDir, removeTempDir } from './temp-dirs.js';

export interface NatsClusterOptions {
  /** Servers in the cluster; JetStream needs a majority of them, so an odd count. */
  size?: 3 | 5;
  binary?: string;
}

/** One server of a NatsCluster. */
export interface NatsClusterNode {
  /** Its JetStream server name, stable across restarts. */
  readonly name: string;
  readonly url: string;
  readonly monitorUrl: string;
  readonly running: boolean;
  /** SIGKILL: a crash, without lame-duck mode or a clean JetStream shutdown. */
  kill(): Promise<void>;
  /** Starts again on the same ports with the same store; resolves once it is back in the cluster and healthy. */
  start(): Promise<void>;
}

export interface NatsCluster {
  /** Every server's client URL, comma-separated (what NATS_URL takes). */
  readonly url: string;
  readonly nodes: readonly NatsClusterNode[];
  /** Stops every server and deletes the stores. */
  dispose(): Promise<void>;
}

/**
 * A JetStream cluster of nats-server processes on 127.0.0.1, each with its own client, route and monitoring port
 * and its store in a temp dir. Resolves once every server reports healthy on /healthz, which for a clustered
 * JetStream also means it has found the meta leader.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsCluster> {
  const size = options.size ?? 3;
  const binary = options.binary ?? '/usr/sbin/nats-server';
  const dir = makeTempDir('obsdemo-nats-cluster-');
  const ports = await freePorts(size * 3);
  const port = (index: number) => {
    const value = ports[index];
    if (value === undefined) throw new Error(`freePorts returned ${ports.length} ports, not ${size * 3}`);
    return value;
  };
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `nats-${i}`,
    port: port(i * 3),
    routePort: port(i * 3 + 1),
    monitorPort: port(i * 3 + 2),
  }));
  const routes = specs.map((s) => `nats://127.0.0.1:${s.routePort}`);

  const nodes = specs.map((spec) => {
    const configFile = join(dir, `${spec.name}.conf`);
    const logFile = join(dir, `${spec.name}.log`);
    writeFileSync(
      configFile,
      [
        `server_name: ${spec.name}`,
        'listen: 127.0.0.1:' + String(spec.port),
        'http: 127.0.0.1:' + String(spec.monitorPort),
        `jetstream { store_dir: "${join(dir, spec.name)}" }`,
        'cluster {',
        '  name: obsdemo-test',
        `  listen: 127.0.0.1:${spec.routePort}`,
        `  routes: [${routes.join(', ')}]`,
        '}',
        '',
      ].join('\n'),
    );
    const monitorUrl = `http://127.0.0.1:${spec.monitorPort}`;
    let proc: ManagedProcess | undefined;
    const launch = () => {
      proc = ManagedProcess.start({ name: spec.name, command: binary, args: ['-c', configFile], logFile });
      return proc;
    };
    const ready = (p: ManagedProcess) =>
      waitUntilReady(
        p,
        'healthy in the JetStream cluster',
        async () => (await fetch(`${monitorUrl}/healthz`)).ok,
      );
    return {
      launch,
      ready,
      node: {
        name: spec.name,
        url: `nats://127.0.0.1:${spec.port}`,
        monitorUrl,
        get running() {
          return proc?.running ?? false;
        },
        async kill() {
          await proc?.kill();
        },
        async start() {
          if (proc?.running) return;
          await ready(launch());
        },
        async stop() {
          await proc?.stop(10_000);
        },
      },
    };
  });

  const stopAll = async () => {
    await Promise.all(nodes.map((n) => n.node.stop()));
  };
  try {
    // All at once: no server finds a meta leader until a majority is up.
    const launched = nodes.map((n) => ({ n, proc: n.launch() }));
    await Promise.all(launched.map(({ n, proc }) => n.ready(proc)));
  } catch (error) {
    await stopAll();
    removeTempDir(dir);
    throw error;
  }
  return {
    url: nodes.map((n) => n.node.url).join(','),
    nodes: nodes.map((n) => n.node),
    async dispose() {
      await stopAll();
      removeTempDir(dir);
    },
  };
}
