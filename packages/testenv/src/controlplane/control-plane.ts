import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, waitUntilReady } from '../process/managed-process.js';
import { freePorts } from '../process/ports.js';
import { generatePki, type ClientName, type Pki } from './certs.js';
import { kubeRequest, loadTls, type ClientTls } from './kube-http.js';
import { writeKubeconfig } from './kubeconfig.js';

export interface ControlPlaneOptions {
  /** Working directory for data, certificates, kubeconfigs and logs; a fresh temp dir by default. */
  dir?: string;
  /** Where kube-apiserver, etcd, kwok… live; `bin/` of the repository (filled by `make tools`) by default. */
  binDir?: string;
  /** Keep the processes running after this Node process exits (for `make cluster-up`). */
  detached?: boolean;
  /** How many fake nodes kwok manages. */
  nodes?: number;
}

/** What `make cluster-down` needs to find a detached control plane again. */
export interface ControlPlaneState {
  dir: string;
  server: string;
  kubeconfig: string;
  pids: Record<string, number>;
}

// Room for about 65,000 Services: a demo renders a dozen, and the operator benchmark runs 100 demos.
const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
type Component = (typeof COMPONENTS)[number];

export function defaultBinDir(): string {
  return process.env.OBSDEMO_BIN_DIR ?? fileURLToPath(new URL('../../../../bin/', import.meta.url));
}

function binary(binDir: string, name: string): string {
  const path = join(binDir, name);
  if (!existsSync(path))
    throw new Error(`${path} not found: run \`make tools\` to build the local control plane`);
  return path;
}

/** kwok's stage files (node initialisation and heartbeat, pod lifecycle, volume provisioning) in one config. */
async function writeKwokConfig(binDir: string, path: string): Promise<string> {
  const stages = binary(binDir, 'kwok-stages');
  const files = readdirSync(stages)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  const docs = await Promise.all(files.map((f) => readFile(join(stages, f), 'utf8')));
  await writeFile(path, docs.map((d) => d.trim()).join('\n---\n') + '\n');
  return path;
}

/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver (Node,RBAC authorization, PodSecurity
 * admission, service-account tokens), kube-controller-manager, kube-scheduler, and kwok playing the kubelets of
 * fake nodes so that pods become Running and Ready.
 */
export class ControlPlane {
  readonly kubeconfig: string;
  private readonly procs = new Map<Component, ManagedProcess>();
  private readonly tls: ClientTls;

  private constructor(
    readonly dir: string,
    readonly server: string,
    private readonly binDir: string,
    private readonly pki: Pki,
    private readonly ports: { etcd: number; etcdPeer: number; apiserver: number; kwok: number },
    private readonly detached: boolean,
    private readonly ownsDir: boolean,
  ) {
    this.kubeconfig = join(dir, 'admin.kubeconfig');
    this.tls = loadTls({ ca: pki.caCert, cert: pki.clients.admin.cert, key: pki.clients.admin.key });
  }

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binDir = options.binDir ?? defaultBinDir();
    for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok']) {
      binary(binDir, name);
    }
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'obsdemo-cp-')));
    await mkdir(join(dir, 'logs'), { recursive: true });
    const [etcd, etcdPeer, apiserver, kwok] = (await freePorts(4)) as [number, number, number, number];
    const server = `https://127.0.0.1:${apiserver}`;
    const pki = await generatePki(dir, SERVICE_IP);
    const cp = new ControlPlane(
      dir,
      server,
      binDir,
      pki,
      { etcd, etcdPeer, apiserver, kwok },
      options.detached ?? false,
      ownsDir,
    );
    try {
      await cp.boot(options.nodes ?? 1);
    } catch (error) {
      await cp.stop({ keepDir: true });
      throw error;
    }
    return cp;
  }

  private async boot(nodes: number): Promise<void> {
    for (const [name, user] of [
      ['admin', 'obsdemo-admin'],
      ['controller-manager', 'system:kube-controller-manager'],
      ['scheduler', 'system:kube-scheduler'],
      ['kwok', 'kwok'],
    ] as [ClientName, string][]) {
      await writeKubeconfig(name === 'admin' ? this.kubeconfig : join(this.dir, `${name}.kubeconfig`), {
        server: this.server,
        caCert: this.pki.caCert,
        clientCert: this.pki.clients[name].cert,
        clientKey: this.pki.clients[name].key,
        user,
      });
    }
    await this.startEtcd();
    await this.startApiserver();
    await Promise.all([this.startControllerManager(), this.startScheduler(), this.startKwok()]);
    await this.applyKwokStorageClass();
    for (let i = 0; i < nodes; i++) await this.createNode(`kwok-node-${i}`);
    await this.waitForCluster(nodes);
  }

  private spawn(name: Component, args: string[]): ManagedProcess {
    const proc = ManagedProcess.start({
      name,
      command: binary(this.binDir, name),
      args,
      logFile: join(this.dir, 'logs', `${name}.log`),
      detached: this.detached,
    });
    this.procs.set(name, proc);
    return proc;
  }

  private async startEtcd(): Promise<void> {
    const { etcd, etcdPeer } = this.ports;
    const proc = this.spawn('etcd', [
      '--name=obsdemo',
      `--data-dir=${join(this.dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcd}`,
      `--advertise-client-urls=http://127.0.0.1:${etcd}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=obsdemo=http://127.0.0.1:${etcdPeer}`,
      // Test data is disposable: skipping fsync makes etcd several times faster on a busy disk.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    await waitUntilReady(proc, 'healthy', async () => {
      const res = await fetch(`http://127.0.0.1:${etcd}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });
  }

  private async startApiserver(): Promise<void> {
    const { pki } = this;
    const proc = this.spawn('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${this.ports.etcd}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${this.ports.apiserver}`,
      `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serving.cert}`,
      `--tls-private-key-file=${pki.serving.key}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      // PodSecurity is on by default; NodeRestriction pairs with the Node authorizer.
      '--enable-admission-plugins=NodeRestriction',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
    ]);
    await waitUntilReady(
      proc,
      'ready (/readyz)',
      async () => (await kubeRequest(this.server, this.tls, 'GET', '/readyz')).status === 200,
      90_000,
      200,
    );
  }

  private async startControllerManager(): Promise<void> {
    const kubeconfig = join(this.dir, 'controller-manager.kubeconfig');
    this.spawn('kube-controller-manager', [
      `--kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      `--root-ca-file=${this.pki.caCert}`,
      `--service-account-private-key-file=${this.pki.serviceAccountKey}`,
      '--use-service-account-credentials=true',
      // client-go's default of 20 requests/s per controller paces pod creation for many demos at once far below
      // what this control plane serves (docs/benchmarks.md, the operator at scale).
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ]);
  }

  private async startScheduler(): Promise<void> {
    this.spawn('kube-scheduler', [
      `--kubeconfig=${join(this.dir, 'scheduler.kubeconfig')}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ]);
  }

  private async startKwok(): Promise<void> {
    const config = await writeKwokConfig(this.binDir, join(this.dir, 'kwok.yaml'));
    const proc = this.spawn('kwok', [
      `--kubeconfig=${join(this.dir, 'kwok.kubeconfig')}`,
      `--config=${config}`,
      '--manage-all-nodes=true',
      `--server-address=127.0.0.1:${this.ports.kwok}`,
      '--node-ip=127.0.0.1',
      '--cidr=10.244.0.1/16',
      '--node-lease-duration-seconds=40',
    ]);
    await waitUntilReady(
      proc,
      'healthy',
      async () => (await fetch(`http://127.0.0.1:${this.ports.kwok}/healthz`)).ok,
    );
  }

  private async applyKwokStorageClass(): Promise<void> {
    // Volume claims bind through kwok's volume stages; this default class routes them there.
    await this.create('/apis/storage.k8s.io/v1/storageclasses', {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: 'kwok-volume',
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'kwok.x-k8s.io/volume',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    });
  }

  private async createNode(name: string): Promise<void> {
    await this.create('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'node-role.kubernetes.io/agent': '',
          type: 'kwok',
        },
      },
      status: {
        allocatable: { cpu: '32', memory: '256Gi', pods: '250' },
        capacity: { cpu: '32', memory: '256Gi', pods: '250' },
      },
    });
  }

  private async create(path: string, body: unknown): Promise<void> {
    const res = await kubeRequest(this.server, this.tls, 'POST', path, body);
    if (res.status !== 201 && res.status !== 409) {
      throw new Error(`POST ${path} answered ${res.status}: ${res.body}`);
    }
  }

  private async waitForCluster(nodes: number): Promise<void> {
    const apiserver = this.procs.get('kube-apiserver');
    if (apiserver === undefined) throw new Error('kube-apiserver was not started');
    await waitUntilReady(
      apiserver,
      'serving the default ServiceAccount (is kube-controller-manager running?)',
      async () => {
        this.assertAllRunning();
        return (
          (
            await kubeRequest(
              this.server,
              this.tls,
              'GET',
              '/api/v1/namespaces/default/serviceaccounts/default',
            )
          ).status === 200
        );
      },
      60_000,
      200,
    );
    await waitUntilReady(
      apiserver,
      `reporting ${nodes} Ready node(s) (is kwok running?)`,
      async () => {
        this.assertAllRunning();
        const res = await kubeRequest(this.server, this.tls, 'GET', '/api/v1/nodes');
        const list = JSON.parse(res.body) as {
          items?: { status?: { conditions?: { type: string; status: string }[] } }[];
        };
        const ready = (list.items ?? []).filter((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length >= nodes;
      },
      60_000,
      200,
    );
  }

  private assertAllRunning(): void {
    for (const proc of this.procs.values()) proc.assertRunning();
  }

  /** Stops kube-apiserver and starts it again on the same port and data; resolves when /readyz answers. */
  async restartApiserver(): Promise<void> {
    const proc = this.procs.get('kube-apiserver');
    if (proc === undefined) throw new Error('kube-apiserver is not running');
    await proc.stop();
    await this.startApiserver();
  }

  /** Stops the apiserver only, for tests that observe clients during an outage; `startApiserver` brings it back. */
  async stopApiserver(): Promise<void> {
    await this.procs.get('kube-apiserver')?.stop();
  }

  async resumeApiserver(): Promise<void> {
    await this.startApiserver();
  }

  /** PIDs and paths a detached control plane needs to be found and stopped later. */
  state(): ControlPlaneState {
    const pids: Record<string, number> = {};
    for (const [name, proc] of this.procs) if (proc.pid !== undefined) pids[name] = proc.pid;
    return { dir: this.dir, server: this.server, kubeconfig: this.kubeconfig, pids };
  }

  logFile(component: Component): string {
    return join(this.dir, 'logs', `${component}.log`);
  }

  /** Stops every component, newest first, and removes the working directory it created. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    for (const name of [...COMPONENTS].reverse()) await this.procs.get(name)?.stop();
    this.procs.clear();
    if (this.ownsDir && !opts.keepDir) await rm(this.dir, { recursive: true, force: true });
  }
}
