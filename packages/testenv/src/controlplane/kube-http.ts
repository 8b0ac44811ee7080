import { request } from 'node:https';
import { readFileSync } from 'node:fs';

/** TLS material for talking to the apiserver as a client-certificate identity. */
export interface ClientTls {
  ca: string;
  cert: string;
  key: string;
}

export function loadTls(paths: { ca: string; cert: string; key: string }): ClientTls {
  return {
    ca: readFileSync(paths.ca, 'utf8'),
    cert: readFileSync(paths.cert, 'utf8'),
    key: readFileSync(paths.key, 'utf8'),
  };
}

export interface KubeResponse {
  status: number;
  body: string;
}

/**
 * A minimal HTTPS call to the apiserver. The harness uses it instead of a full client so that its own readiness
 * checks depend on nothing but Node and the certificates it wrote.
 */
export function kubeRequest(
  server: string,
  tls: ClientTls,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5_000,
): Promise<KubeResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, server),
      {
        method,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        timeout: timeoutMs,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
