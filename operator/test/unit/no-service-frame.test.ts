import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

// The operator runs with the telemetry preload and imports @obsdemo/base and @obsdemo/telemetry, never the services'
// frame (@obsdemo/service-kit): Express and NATS must not be loaded into it. This follows every import (static,
// re-export and dynamic) from each operator source file and from the preload through the workspace packages'
// sources, and checks both what is imported and what the reached workspaces declare as dependencies.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const FORBIDDEN = ['express', 'nats', '@obsdemo/service-kit'];

interface Workspace {
  dir: string;
  manifest: {
    name: string;
    dependencies?: Record<string, string>;
    exports?: Record<string, { default: string }>;
  };
}

function workspaces(): Map<string, Workspace> {
  const globs = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces: string[] })
    .workspaces;
  const found = new Map<string, Workspace>();
  for (const dir of globs.map((w) => join(root, w))) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Workspace['manifest'];
    found.set(manifest.name, { dir, manifest });
  }
  return found;
}

/** A workspace import's source file: its package.json `exports` entry (dist/x.js) mapped back to src/x.ts. */
function workspaceSource(ws: Workspace, subpath: string): string {
  const target = ws.manifest.exports?.[subpath === '' ? '.' : `./${subpath}`]?.default;
  if (!target) throw new Error(`${ws.manifest.name} exports no ${subpath || '.'}`);
  return join(ws.dir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Every file reached from `entries`, and every external package (or workspace) imported on the way. */
function importGraph(entries: string[], all: Map<string, Workspace>) {
  const files = new Set<string>();
  const packages = new Map<string, string>(); // package → first importing file
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const { fileName: spec } of ts.preProcessFile(text, true, true).importedFiles) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        if (!existsSync(target)) throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
        pending.push(target);
        continue;
      }
      const parts = spec.split('/');
      const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      if (!packages.has(name)) packages.set(name, relative(root, file));
      const ws = all.get(name);
      if (ws) pending.push(workspaceSource(ws, parts.slice(spec.startsWith('@') ? 2 : 1).join('/')));
    }
  }
  return { files, packages };
}

describe('the operator loads no Express and no NATS code', () => {
  const all = workspaces();
  const operator = all.get('@obsdemo/operator')!;
  const entries = [
    ...sourceFiles(join(operator.dir, 'src')),
    workspaceSource(all.get('@obsdemo/telemetry')!, 'register'),
  ];
  const graph = importGraph(entries, all);

  it('follows the imports through the workspace packages it uses', () => {
    expect([...graph.packages.keys()]).toEqual(
      expect.arrayContaining(['@obsdemo/base', '@obsdemo/telemetry']),
    );
    expect([...graph.files].some((f) => f.includes(join('packages', 'telemetry', 'src', 'tracing.ts')))).toBe(
      true,
    );
  });

  it('imports neither express, nats nor the service frame, directly or through a package', () => {
    const offending = FORBIDDEN.filter((name) => graph.packages.has(name)).map(
      (name) => `${name} (imported by ${graph.packages.get(name)})`,
    );
    expect(offending).toEqual([]);
  });

  it('reaches no workspace that declares express or nats as a dependency', () => {
    const reached = [operator, ...[...graph.packages.keys()].flatMap((name) => all.get(name) ?? [])];
    const declaring = reached
      .filter((ws) => FORBIDDEN.some((name) => ws.manifest.dependencies?.[name] !== undefined))
      .map((ws) => ws.manifest.name);
    expect(declaring).toEqual([]);
  });
});
