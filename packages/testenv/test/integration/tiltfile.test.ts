// The Tiltfile, evaluated by the real Tilt (bin/tilt, `make tools`) with `tilt alpha tiltfile-result`, which runs
// it (helm included) without a cluster or Docker and prints what `tilt up` would build, deploy and serve. `tilt ci`
// and a live update on a real kind cluster run in the kind tier (hack/kind/tilt-ci.sh).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const tilt = join(root, 'bin/tilt');
const SERVICES = ['catalog', 'processor', 'invoices', 'gateway', 'loadgen'] as const;
const REGISTRY = 'ghcr.io/obsdemo';

interface LiveUpdateSpec {
  stopPaths?: string[];
  syncs?: { localPath: string; containerPath: string }[];
}
interface ImageTarget {
  selector: string;
  LiveUpdateSpec: LiveUpdateSpec;
  // custom_build: the command (args) and the files it watches (Deps, absolute).
  BuildDetails: { args?: string[]; dir?: string; Deps?: string[] };
}
interface DeployTarget {
  // Kubernetes resources
  yaml?: string;
  imageLocators?: { path: string; object?: { repoField: string; tagField: string } }[];
  PodReadinessMode?: string;
  discoveryStrategy?: string;
  kubernetesDiscoveryTemplateSpec?: { extraSelectors?: { matchLabels?: Record<string, string> }[] } | null;
  portForwardTemplateSpec?: { forwards: { localPort: number; containerPort: number }[] } | null;
  // local_resource
  UpdateCmdSpec?: { args: string[] } | null;
  ServeCmd?: { Argv: string[] | null; Env: string[] | null };
  Deps?: string[] | null;
  ReadinessProbe?: { tcpSocket?: { port: number }; httpGet?: { port: number; path: string } } | null;
}
interface Manifest {
  Name: string;
  Labels: Record<string, string> | null;
  ResourceDependencies: string[] | null;
  TriggerMode: number;
  ImageTargets: ImageTarget[] | null;
  DeployTarget: DeployTarget;
}
interface TiltfileResult {
  Manifests: Manifest[];
  EnabledManifests: string[];
}
// pkg/model/trigger_mode.go: TriggerModeAuto = 0, ..., TriggerModeManual = 2 (manual, and not run at start).
const TRIGGER_MODE_MANUAL = 2;

let dir: string;

/** A kubeconfig whose current context is `context`; Tilt reads only the name, the server is never contacted. */
function kubeconfig(context: string): string {
  const path = join(dir, `${context}.kubeconfig`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: u, user: {token: unused}}]',
      `contexts: [{name: ${context}, context: {cluster: c, user: u}}]`,
      `current-context: ${context}`,
    ].join('\n'),
  );
  return path;
}

/** `tilt alpha tiltfile-result`: exit 0 with the result JSON on stdout, or exit 5 for a Tiltfile error. */
function tiltfileResult(
  tiltfileArgs: string[],
  context = 'kind-obsdemo',
): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['alpha', 'tiltfile-result', '-f', join(root, 'Tiltfile')];
  if (tiltfileArgs.length > 0) args.push('--', ...tiltfileArgs);
  return new Promise((resolve) => {
    execFile(
      tilt,
      args,
      {
        cwd: root,
        env: {
          ...process.env,
          KUBECONFIG: kubeconfig(context),
          PATH: `${join(root, 'bin')}:${process.env.PATH ?? ''}`,
        },
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function evaluate(tiltfileArgs: string[]): Promise<Map<string, Manifest>> {
  const { code, stdout, stderr } = await tiltfileResult(tiltfileArgs);
  if (code !== 0) throw new Error(`tilt alpha tiltfile-result exited ${code}: ${stderr}`);
  const result = JSON.parse(stdout) as TiltfileResult;
  return new Map(result.Manifests.map((m) => [m.Name, m]));
}

function manifest(manifests: Map<string, Manifest>, name: string): Manifest {
  const m = manifests.get(name);
  if (m === undefined)
    throw new Error(`no Tilt resource "${name}"; there are: ${[...manifests.keys()].join(', ')}`);
  return m;
}

function imageTarget(m: Manifest, ref: string): ImageTarget {
  const target = (m.ImageTargets ?? []).find((t) => t.selector === ref);
  if (target === undefined) throw new Error(`resource ${m.Name} builds no image ${ref}`);
  return target;
}

/**
 * What every image must do: `make images ONLY=<name>` (its cache), then a thin layer on that image with the
 * live-update entrypoint as its command; watch the workspace; sync src and dist.
 */
function expectLiveUpdateImage(target: ImageTarget, workspace: string): void {
  const name = workspace.split('/').pop() ?? workspace;
  const args = target.BuildDetails.args ?? [];
  expect(args.slice(0, 2)).toEqual(['sh', '-ec']);
  expect(args[2]).toContain('make --no-print-directory images ONLY="$1"');
  expect(args[2]).toContain('docker build');
  expect(args[2]).toContain('-t "$EXPECTED_REF"');
  expect(args[4]).toBe(name);
  const chart = readFileSync(join(root, 'charts/obsdemo-operator/Chart.yaml'), 'utf8');
  const version = /^appVersion: *"?([^"\n]+)"?$/m.exec(chart)?.[1];
  expect(args[5]?.split('\\n')).toEqual([
    `FROM ${REGISTRY}/${name}:${version}`,
    'COPY tilt-live-entrypoint.sh /usr/local/bin/tilt-live-entrypoint.sh',
    `CMD ["/bin/sh", "/usr/local/bin/tilt-live-entrypoint.sh", "${workspace}"]`,
  ]);
  expect(target.BuildDetails.dir).toBe(root.replace(/\/$/, ''));
  expect(target.BuildDetails.Deps).toEqual(
    expect.arrayContaining([join(root, workspace), join(root, 'hack/kind/tilt-live-entrypoint.sh')]),
  );
  expect(target.LiveUpdateSpec.syncs).toEqual(
    expect.arrayContaining([
      { localPath: `${workspace}/src`, containerPath: `/tmp/app/${workspace}/src` },
      { localPath: `${workspace}/dist`, containerPath: `/tmp/app/${workspace}/dist` },
      { localPath: 'packages/telemetry/dist', containerPath: '/tmp/app/packages/telemetry/dist' },
    ]),
  );
  expect(target.LiveUpdateSpec.stopPaths).toEqual(
    expect.arrayContaining([
      'package.json',
      'package-lock.json',
      `${workspace}/package.json`,
      `${workspace}/tsconfig.json`,
    ]),
  );
}

const FORWARDS = [
  ['gateway', 8080, 'demo'],
  ['grafana', 3000, 'observability'],
  ['prometheus', 9090, 'observability'],
  ['tempo', 3200, 'observability'],
] as const;

beforeAll(() => {
  if (!existsSync(tilt))
    throw new Error(`${tilt} is missing: run \`make tools\` (it builds tilt from hack/tools/tilt)`);
  dir = mkdtempSync(join(tmpdir(), 'obsdemo-tiltfile-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('Tiltfile, operator in the cluster (tilt up)', () => {
  let manifests: Map<string, Manifest>;
  beforeAll(async () => {
    manifests = await evaluate([]);
  });

  it('declares the resources, each under its label, and leaves nothing uncategorized', () => {
    const labels = Object.fromEntries(
      [...manifests.values()].map((m) => [m.Name, Object.keys(m.Labels ?? {})]),
    );
    expect(labels).toEqual({
      'tsc-watch': ['operator'],
      crds: ['operator'],
      operator: ['operator'],
      shop: ['demo'],
      gateway: ['demo'],
      grafana: ['observability'],
      prometheus: ['observability'],
      tempo: ['observability'],
      'unit-tests': ['tests'],
      smoke: ['tests'],
    });
  });

  it('installs the CRD first, then the operator chart with the operator image, then the demo', () => {
    expect(manifest(manifests, 'crds').DeployTarget.yaml).toContain('name: observabilitydemos.obsdemo.dev');
    const operator = manifest(manifests, 'operator');
    expect(operator.ResourceDependencies).toEqual(['crds']);
    // helm(..., skip_crds=True): the chart's copy of the CRD is not applied a second time.
    expect(operator.DeployTarget.yaml).not.toContain('kind: CustomResourceDefinition');
    expect(operator.DeployTarget.yaml).toContain('kind: Deployment');
    expect(operator.DeployTarget.yaml).toContain('kind: ClusterRole');
    expect(operator.DeployTarget.yaml).toContain('pod-security.kubernetes.io/enforce: restricted');
    expect(operator.DeployTarget.portForwardTemplateSpec?.forwards).toEqual([
      expect.objectContaining({ localPort: 8081, containerPort: 8081 }),
    ]);
    expectLiveUpdateImage(imageTarget(operator, `${REGISTRY}/operator`), 'operator');
    expect(manifest(manifests, 'shop').ResourceDependencies).toEqual(['operator']);
  });

  it('applies the sample with every service image named, and lets Tilt replace them through k8s_kind', () => {
    const shop = manifest(manifests, 'shop');
    const yaml = shop.DeployTarget.yaml ?? '';
    expect(yaml).toContain('kind: ObservabilityDemo');
    expect(yaml).toContain('namespace: demo');
    for (const service of SERVICES) {
      expect(yaml).toMatch(
        new RegExp(`    ${service}:\\n      image:\\n        repository: ${REGISTRY}/${service}\\n`),
      );
      expectLiveUpdateImage(imageTarget(shop, `${REGISTRY}/${service}`), `services/${service}`);
    }
    expect(shop.ImageTargets).toHaveLength(SERVICES.length);
    expect(shop.DeployTarget.imageLocators).toEqual([
      expect.objectContaining({
        path: '{.spec.services.*.image}',
        object: { repoField: 'repository', tagField: 'tag' },
      }),
    ]);
    expect(shop.DeployTarget.PodReadinessMode).toBe('wait');
  });

  it("finds the demo's pods by their labels, so live update reaches every service's Deployment", () => {
    // Through owner references Tilt keeps only the newest ReplicaSet's pods under the CR: one service of five.
    const shop = manifest(manifests, 'shop').DeployTarget;
    expect(shop.discoveryStrategy).toBe('selectors-only');
    expect(shop.kubernetesDiscoveryTemplateSpec?.extraSelectors).toEqual([
      {
        matchLabels: {
          'app.kubernetes.io/instance': 'shop',
          'app.kubernetes.io/part-of': 'observability-demo',
        },
      },
    ]);
  });

  it('gives each image the workspaces its tsconfig.json references, and no others', () => {
    const shop = manifest(manifests, 'shop');
    const synced = (service: string) =>
      (imageTarget(shop, `${REGISTRY}/${service}`).LiveUpdateSpec.syncs ?? []).map((s) => s.localPath);
    expect(synced('catalog')).toEqual(
      expect.arrayContaining([
        'packages/contracts/dist',
        'packages/database/dist',
        'packages/telemetry/dist',
      ]),
    );
    expect(synced('gateway').sort()).toEqual([
      'packages/base/dist',
      'packages/base/src',
      'packages/service-kit/dist',
      'packages/service-kit/src',
      'packages/telemetry/dist',
      'packages/telemetry/src',
      'services/gateway/dist',
      'services/gateway/src',
    ]);
  });

  it('forwards the gateway, Grafana, Prometheus and Tempo Services once the demo exists', () => {
    for (const [name, port, label] of FORWARDS) {
      const m = manifest(manifests, name);
      expect(m.Labels).toEqual({ [label]: label });
      expect(m.ResourceDependencies).toEqual(['shop']);
      expect(m.DeployTarget.ServeCmd?.Argv).toEqual([
        'hack/kind/port-forward.sh',
        'demo',
        `shop-${name}`,
        `${port}:${port}`,
      ]);
      expect(m.DeployTarget.ReadinessProbe?.tcpSocket?.port).toBe(port);
    }
  });

  it('runs the tests only on demand outside `tilt ci`', () => {
    const unit = manifest(manifests, 'unit-tests');
    expect(unit.DeployTarget.UpdateCmdSpec?.args).toEqual(['sh', '-c', 'make test-unit']);
    expect(unit.TriggerMode).toBe(TRIGGER_MODE_MANUAL);
    const smoke = manifest(manifests, 'smoke');
    expect(smoke.DeployTarget.UpdateCmdSpec?.args).toEqual([
      'hack/kind/smoke.sh',
      'demo',
      'shop',
      'http://127.0.0.1:8080',
    ]);
    expect(smoke.ResourceDependencies).toEqual(['shop', 'gateway']);
    expect(smoke.TriggerMode).toBe(TRIGGER_MODE_MANUAL);
  });
});

describe('Tiltfile with --local-operator', () => {
  it('runs the operator as a local process and builds no operator image', async () => {
    const manifests = await evaluate(['--local-operator']);
    const operator = manifest(manifests, 'operator');
    expect(operator.ImageTargets ?? []).toEqual([]);
    expect(operator.DeployTarget.yaml).toBeUndefined();
    expect(operator.DeployTarget.ServeCmd?.Argv).toEqual([
      'sh',
      '-c',
      'node --import @obsdemo/telemetry/register operator/dist/main.js',
    ]);
    expect(operator.DeployTarget.ServeCmd?.Env).toEqual(
      expect.arrayContaining([
        'LEADER_ELECT=false',
        `HELM_BINARY=${join(root, 'bin/helm')}`,
        `CHARTS_DIR=${join(root, 'charts')}`,
      ]),
    );
    expect(operator.DeployTarget.Deps).toEqual(expect.arrayContaining([join(root, 'operator/dist')]));
    expect(operator.DeployTarget.ReadinessProbe?.httpGet).toEqual({ port: 8081, path: '/readyz' });
    expect(operator.ResourceDependencies).toEqual(['crds', 'tsc-watch']);
    const images = [...manifests.values()].flatMap((m) => (m.ImageTargets ?? []).map((t) => t.selector));
    expect(images.sort()).toEqual(SERVICES.map((s) => `${REGISTRY}/${s}`).sort());
    expect(manifest(manifests, 'shop').ResourceDependencies).toEqual(['operator']);
  });
});

describe('Tiltfile with --offline (no registry: the images `make images` built here)', () => {
  let manifests: Map<string, Manifest>;
  beforeAll(async () => {
    manifests = await evaluate(['--offline']);
  });

  it('points the operator at the offline images and applies the Jaeger sample without Grafana', () => {
    const operator = manifest(manifests, 'operator').DeployTarget.yaml ?? '';
    // The operator chart's ci/offline.yaml: componentDefaults name the obsdemo.local images for every chart.
    expect(operator).toContain('name: COMPONENT_DEFAULTS');
    expect(operator).toContain('obsdemo.local/nats');
    const demo = manifest(manifests, 'shop').DeployTarget.yaml ?? '';
    expect(demo).toMatch(/backend: jaeger/);
    expect(demo).toMatch(/grafana:\n\s+enabled: false/);
  });

  it('forwards Jaeger instead of Grafana and Tempo, which have no image offline', () => {
    expect(manifest(manifests, 'jaeger').DeployTarget.ServeCmd?.Argv).toEqual([
      'hack/kind/port-forward.sh',
      'demo',
      'shop-jaeger',
      '16686:16686',
    ]);
    expect(manifests.has('grafana')).toBe(false);
    expect(manifests.has('tempo')).toBe(false);
    expect(manifests.has('gateway')).toBe(true);
  });

  it('builds the operator from the host network when the project runs its own Docker daemon (it has no bridge)', async () => {
    const previous = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = 'unix:///run/obsdemo-docker/docker.sock';
    try {
      const own = await evaluate(['--offline']);
      const target = imageTarget(manifest(own, 'operator'), `${REGISTRY}/operator`);
      expect(target.BuildDetails.args?.[2]).toContain('docker build --network host ');
    } finally {
      if (previous === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = previous;
    }
  });
});

describe('Tiltfile guard', () => {
  it('refuses a kubeconfig context that is neither local nor kind-obsdemo', async () => {
    const { code, stderr } = await tiltfileResult([], 'prod-east');
    expect(code).toBe(5);
    expect(stderr).toContain('Stop! prod-east might be production');
  });
});
