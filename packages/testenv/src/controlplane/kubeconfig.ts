import { dump } from 'js-yaml';
import { readBase64, writeText } from './certs.js';

/** Writes a kubeconfig that authenticates with a client certificate, with the certificates embedded. */
export async function writeKubeconfig(
  path: string,
  opts: {
    server: string;
    caCert: string;
    clientCert: string;
    clientKey: string;
    user: string;
    cluster?: string;
  },
): Promise<void> {
  const cluster = opts.cluster ?? 'obsdemo-local';
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: cluster,
        cluster: { server: opts.server, 'certificate-authority-data': await readBase64(opts.caCert) },
      },
    ],
    users: [
      {
        name: opts.user,
        user: {
          'client-certificate-data': await readBase64(opts.clientCert),
          'client-key-data': await readBase64(opts.clientKey),
        },
      },
    ],
    contexts: [{ name: cluster, context: { cluster, user: opts.user, namespace: 'default' } }],
    'current-context': cluster,
  };
  await writeText(path, dump(config));
}
