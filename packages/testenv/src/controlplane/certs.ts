import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface KeyPair {
  cert: string;
  key: string;
}

/** File paths of the PKI of one control plane. Every key is ECDSA P-256 (fast to generate, accepted everywhere). */
export interface Pki {
  caCert: string;
  caKey: string;
  serving: KeyPair;
  serviceAccountKey: string;
  serviceAccountPub: string;
  clients: Record<ClientName, KeyPair>;
}

export type ClientName = 'admin' | 'controller-manager' | 'scheduler' | 'kwok';

/** The identities the components authenticate as; the built-in RBAC roles bind to these names. */
const clientSubjects: Record<ClientName, string> = {
  admin: '/O=system:masters/CN=obsdemo-admin',
  'controller-manager': '/CN=system:kube-controller-manager',
  scheduler: '/CN=system:kube-scheduler',
  // kwok plays every kubelet and a volume provisioner; it runs with cluster-admin rights like kwokctl's clusters.
  kwok: '/O=system:masters/CN=kwok',
};

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(error)}`, { cause: error });
  }
}

async function ecKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

async function signedCert(dir: string, name: string, subject: string, extensions: string[], ca: KeyPair) {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  await ecKey(key);
  const ext = extensions.flatMap((e) => ['-addext', e]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-subj',
    subject,
    '-days',
    '30',
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    ...ext,
    '-out',
    cert,
  ]);
  return { cert, key };
}

/** Writes a fresh CA, the apiserver's serving certificate, client certificates and the service-account keys. */
export async function generatePki(dir: string, serviceIp: string): Promise<Pki> {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await ecKey(ca.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.key,
    '-subj',
    '/CN=obsdemo-local-ca',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    ca.cert,
  ]);
  const sans = [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'IP:127.0.0.1',
    `IP:${serviceIp}`,
  ];
  const serving = await signedCert(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    [`subjectAltName=${sans.join(',')}`, 'extendedKeyUsage=serverAuth', 'keyUsage=critical,digitalSignature'],
    ca,
  );
  const clients = {} as Record<ClientName, KeyPair>;
  await Promise.all(
    (Object.keys(clientSubjects) as ClientName[]).map(async (name) => {
      clients[name] = await signedCert(
        dir,
        `client-${name}`,
        clientSubjects[name],
        ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature'],
        ca,
      );
    }),
  );
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  await ecKey(serviceAccountKey);
  await openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  return { caCert: ca.cert, caKey: ca.key, serving, serviceAccountKey, serviceAccountPub, clients };
}

export async function readBase64(path: string): Promise<string> {
  return (await readFile(path)).toString('base64');
}

export async function writeText(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}
