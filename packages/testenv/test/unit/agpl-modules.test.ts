import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// Tempo, Grafana and Loki are under the AGPL, and this project never downloads, builds or links them: clusters run
// their official images. Every Go module we build is pinned under hack/tools (and go.sum lists each module a build
// downloads), so a forbidden path in any go.mod or go.sum would mean a make target fetches or builds one.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const AGPL_MODULES = /^(github\.com\/grafana\/(tempo|grafana|loki))(\/|$)/;
const SKIP = new Set(['node_modules', '.git', 'dist', 'bin', '.tmp']);

function goModuleFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (SKIP.has(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return goModuleFiles(path);
    return entry.name === 'go.mod' || entry.name === 'go.sum' ? [path] : [];
  });
}

/** The module paths a go.mod or go.sum names (require, tool, replace lines; go.sum's first column). */
export function modulePaths(text: string): string[] {
  const paths: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    const words = line.split(/\s+/).filter((w) => w !== '' && w !== '(' && w !== ')' && w !== '=>');
    if (words.length === 0 || words[0] === 'module' || words[0] === 'go' || words[0] === 'toolchain')
      continue;
    const candidates = ['require', 'tool', 'replace', 'exclude'].includes(words[0] as string)
      ? words.slice(1)
      : words;
    paths.push(...candidates.filter((w) => /^[a-z0-9.-]+\.[a-z]+\//i.test(w)));
  }
  return paths;
}

describe('no AGPL module is fetched or built', () => {
  const files = goModuleFiles(repoRoot);

  it('finds the pinned tool modules', () => {
    expect(files.map((f) => relative(repoRoot, f))).toEqual(
      expect.arrayContaining(['hack/tools/otelcol/go.mod', 'hack/tools/otelcol/go.sum']),
    );
  });

  it('recognises a forbidden module in every form go.mod and go.sum write it', () => {
    const sample = [
      'require github.com/grafana/tempo v1.5.1-0.20250101',
      'tool github.com/grafana/loki/v3/cmd/loki',
      'github.com/grafana/grafana v1.9.2 h1:abc=',
      'github.com/grafana/regexp v0.0.0 h1:abc=',
    ].join('\n');
    expect(modulePaths(sample).filter((p) => AGPL_MODULES.test(p))).toEqual([
      'github.com/grafana/tempo',
      'github.com/grafana/loki/v3/cmd/loki',
      'github.com/grafana/grafana',
    ]);
  });

  it('names none of Tempo, Grafana or Loki in any go.mod or go.sum', () => {
    const found = files.flatMap((file) =>
      modulePaths(readFileSync(file, 'utf8'))
        .filter((p) => AGPL_MODULES.test(p))
        .map((p) => `${relative(repoRoot, file)}: ${p}`),
    );
    expect([...new Set(found)]).toEqual([]);
  });
});
