// hack/kind/tilt-live-entrypoint.sh, the command of the images the Tiltfile builds, run outside a container: it
// must start a service from a writable copy of the image's /app, load the shared packages from that copy too, and
// restart when Tilt's live_update replaces a file there. The gateway is the service (it starts without backends).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, pollUntil } from '@obsdemo/testenv';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const script = join(root, 'hack/kind/tilt-live-entrypoint.sh');

let dir: string;
let app: string;
let live: string;
let port: number;
let child: ChildProcess;
let output = '';

/** /app as the runtime stage of services/gateway/Dockerfile lays it out, from this checkout's build output. */
function fakeImage(): void {
  mkdirSync(join(app, 'node_modules'), { recursive: true });
  cpSync(join(root, 'package.json'), join(app, 'package.json'));
  for (const ws of ['packages/base', 'packages/telemetry', 'packages/service-kit', 'services/gateway']) {
    const dist = join(root, ws, 'dist');
    if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first`);
    mkdirSync(join(app, ws), { recursive: true });
    cpSync(join(root, ws, 'package.json'), join(app, ws, 'package.json'));
    cpSync(dist, join(app, ws, 'dist'), { recursive: true });
    // npm nests a dependency in the workspace when the hoisted version does not satisfy it.
    if (existsSync(join(root, ws, 'node_modules'))) {
      symlinkSync(join(root, ws, 'node_modules'), join(app, ws, 'node_modules'));
    }
  }
  for (const name of readdirSync(join(root, 'node_modules'))) {
    if (name.startsWith('.')) continue;
    if (name === '@obsdemo') {
      // The workspace links, relative as npm writes them (../../packages/telemetry).
      cpSync(join(root, 'node_modules', name), join(app, 'node_modules', name), {
        recursive: true,
        verbatimSymlinks: true,
      });
    } else {
      symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name));
    }
  }
}

async function health(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return res.status;
}

const restarts = () => output.split("Restarting 'dist/main.js'").length - 1;
const listening = () => output.split('"message":"gateway listening"').length - 1;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'obsdemo-live-entrypoint-'));
  app = join(dir, 'app');
  live = join(dir, 'live');
  fakeImage();
  port = await freePort();
  child = spawn('/bin/sh', [script, 'services/gateway'], {
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
      OBSDEMO_APP_DIR: app,
      OBSDEMO_LIVE_DIR: live,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      OTEL_SDK_DISABLED: 'true',
    },
    // Its own process group: node --watch runs the service as a child process, and both must end with the test.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await pollUntil('the gateway answers /health', health, (status) => status === 200, 60_000).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n--- output ---\n${output}`);
    },
  );
});

afterAll(() => {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('tilt-live-entrypoint.sh', () => {
  it('runs the service from a writable copy, leaving third-party packages in the image', () => {
    expect(existsSync(join(live, 'services/gateway/dist/main.js'))).toBe(true);
    expect(existsSync(join(live, 'packages/telemetry/dist'))).toBe(true);
    expect(listening()).toBe(1);
  });

  it('restarts when live_update replaces a file of the service', async () => {
    const before = restarts();
    appendFileSync(join(live, 'services/gateway/dist/main.js'), '\n// synced by live_update\n');
    await pollUntil(
      'a restart after the change',
      async () => restarts(),
      (n) => n > before,
    );
    await pollUntil(
      'the gateway listening again',
      async () => listening(),
      (n) => n >= 2,
    );
    await pollUntil('the gateway answers /health again', health, (status) => status === 200);
    expect(output).toContain(`Change detected in '${join(live, 'services/gateway/dist/main.js')}'`);
  });

  it('loads the shared packages from the copy, so their changes restart the service too', async () => {
    const before = restarts();
    const telemetry = readdirSync(join(live, 'packages/telemetry/dist')).find((f) => f === 'index.js');
    expect(telemetry).toBe('index.js');
    appendFileSync(join(live, 'packages/telemetry/dist/index.js'), '\n// synced by live_update\n');
    await pollUntil(
      'a restart after the change',
      async () => restarts(),
      (n) => n > before,
    );
    expect(output).toContain(`Change detected in '${join(live, 'packages/telemetry/dist/index.js')}'`);
    await pollUntil('the gateway answers /health again', health, (status) => status === 200);
  });
});
