// Test helper: an HTTP proxy in front of kube-apiserver that records every request it receives (method, path,
// arrival time) and can hold the leader Lease's writes unanswered, as a network that drops them would. Clients
// reach it over plain HTTP; it forwards with the credentials of the kubeconfig it was given.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

export interface SeenRequest {
  method: string;
  path: string;
  /** Date.now() when the request reached the proxy. */
  at: number;
  /** Held unanswered instead of forwarded. */
  held: boolean;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const isWrite = (r: SeenRequest) => WRITES.has(r.method);
export const isLeaseWrite = (r: SeenRequest) => isWrite(r) && r.path.includes('/leases');

export class RecordingProxy {
  readonly seen: SeenRequest[] = [];
  /** While true, writes to Leases are never forwarded nor answered. */
  holdLeaseWrites = false;
  port = 0;
  private readonly server: Server;
  private readonly held = new Set<ServerResponse>();
  private readonly upstream: URL;

  constructor(private readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('kubeconfig has no current cluster');
    this.upstream = new URL(cluster.server);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy has no port');
    this.port = address.port;
    return this;
  }

  /** Forwards Lease writes again; those held so far are cut off (the client sees a reset connection). */
  releaseLeaseWrites(): void {
    this.holdLeaseWrites = false;
    for (const res of this.held) res.destroy();
  }

  /** A kubeconfig that reaches the apiserver through this proxy (which adds the credentials). */
  kubeConfig(): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: [{ name: 'proxy', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'proxy' }],
      contexts: [{ name: 'proxy', cluster: 'proxy', user: 'proxy' }],
      currentContext: 'proxy',
    });
    return out;
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      at: Date.now(),
      held: false,
    };
    this.seen.push(seen);
    if (this.holdLeaseWrites && isLeaseWrite(seen)) {
      seen.held = true;
      this.held.add(res);
      res.on('close', () => this.held.delete(res));
      req.resume();
      return;
    }
    const tls: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(tls);
    const { host: _host, connection: _connection, ...headers } = req.headers;
    const upstream = request(
      new URL(seen.path, this.upstream),
      {
        method: seen.method,
        headers: { ...headers, ...(tls.headers ?? {}) },
        ...(tls.ca ? { ca: tls.ca } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    // A client that goes away (an aborted watch or request) ends the upstream request too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}
