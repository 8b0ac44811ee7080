// The operator's KubeConfig is client-node's own, loaded without the generated API clients. Jest has its own
// module loader, where Node's resolve hooks do not apply, so this runs the built module (operator/dist, which
// `make test-integration` builds first) in a real node process.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const operatorDir = fileURLToPath(new URL('../../', import.meta.url));

/** Runs `script` as an ES module in node from the operator's directory; its last stdout line is JSON. */
function runNode(script: string): Record<string, unknown> {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: operatorDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`node exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/** Script prelude: records every module node loads in `loaded`; `generated(urls)` counts client-node's generated ones. */
const RECORD_LOADS = `
import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, context, nextLoad) { loaded.push(url); return nextLoad(url, context); } });
const generated = (urls) => urls.filter((url) => /\\/client-node\\/dist\\/gen\\/(apis|models|types)\\//.test(url)).length;
`;

// Loads the operator's kubeconfig module and its manager (the rest of what main.js imports, without starting it),
// and uses the KubeConfig as main.js does.
const script = `${RECORD_LOADS}
const { KubeConfig } = await import('./dist/runtime/kubeconfig.js');
await import('./dist/manager.js');
const kc = new KubeConfig();
kc.loadFromString(${JSON.stringify(
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
    'users: [{name: u, user: {token: t0ken}}]',
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
  ].join('\n'),
)});
const options = {};
await kc.applyToHTTPSOptions(options);
const clientNode = loaded.filter((url) => url.includes('/@kubernetes/client-node/dist/'));
console.log(JSON.stringify({
  server: kc.getCurrentCluster()?.server,
  authorization: options.headers?.Authorization,
  sameClass: KubeConfig === (await import('@kubernetes/client-node/dist/config.js')).KubeConfig,
  configLoaded: clientNode.some((url) => url.endsWith('/dist/config.js')),
  generated: generated(loaded),
  createConfiguration: typeof (await import('./dist/runtime/client-node-gen-subset.js')).createConfiguration,
}));
`;

describe('KubeConfig without the generated API clients', () => {
  it("is client-node's KubeConfig, authenticates as configured and loads no generated API or model", () => {
    expect(runNode(script)).toEqual({
      server: 'https://127.0.0.1:6443',
      authorization: 'Bearer t0ken',
      sameClass: true,
      configLoaded: true,
      generated: 0,
      createConfiguration: 'function',
    });
  });

  it('without the hook, the same client-node module loads them (the check above can fail)', () => {
    const plain = runNode(`${RECORD_LOADS}
      await import('@kubernetes/client-node/dist/config.js');
      console.log(JSON.stringify({ generated: generated(loaded) }));
    `);
    expect(plain.generated).toBeGreaterThan(100);
  });
});
