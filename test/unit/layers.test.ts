// The layers of docs/architecture.md: every import in src/ runs downward (to a lower layer, or
// inside its own folder), and the folders of src/ import each other without cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const srcDir = join(import.meta.dirname, '..', '..', '..', 'src');

/** Top-level folders of src/, highest layer first. A folder may import its own layer's folders or lower ones. */
export const LAYERS: readonly (readonly string[])[] = [
  ['cli'], // executables: flags in, wiring, printers
  ['api'], // RPC layer: gRPC services, HTTP routes, the transport; declares the interfaces it consumes
  ['server'], // request lifecycle, the consensus seam (server/node), the apply loop
  ['config', 'threads', 'apply'], // configuration; thread boundaries; the applier chain
  ['mvcc', 'wal', 'raft', 'auth'], // storage, the pure consensus core, the auth store
  ['backend'], // LMDB
  ['proto', 'pb', 'errors', 'raftpb', 'util'], // contracts at the bottom
];

function rankOf(folder: string): number {
  const r = LAYERS.findIndex((l) => l.includes(folder));
  assert.ok(r >= 0, `src/${folder} is in no layer: add it to LAYERS (test/unit/layers.test.ts) and docs/architecture.md`);
  return r;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of src/ as [importing file, imported file], both relative to src/. */
export function importEdges(files: readonly string[]): [string, string][] {
  const edges: [string, string][] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      edges.push([relative(srcDir, f), relative(srcDir, normalize(join(dirname(f), m[1]!)))]);
    }
  }
  return edges;
}

const top = (p: string): string => p.split(sep)[0]!;

/** Upward imports in a list of edges (exported for the known-bad test below). */
export function upwardImports(edges: readonly [string, string][]): string[] {
  return edges.filter(([a, b]) => rankOf(top(b)) < rankOf(top(a))).map(([a, b]) => `${a} imports ${b}`);
}

/** A cycle among top-level folders, as a path, or undefined. */
export function folderCycle(edges: readonly [string, string][]): string[] | undefined {
  const graph = new Map<string, Set<string>>();
  for (const [a, b] of edges) {
    if (top(a) === top(b)) continue;
    if (!graph.has(top(a))) graph.set(top(a), new Set());
    graph.get(top(a))!.add(top(b));
  }
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c !== undefined) return c;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c !== undefined) return c;
  }
  return undefined;
}

test('every import in src/ runs downward', () => {
  const edges = importEdges(walk(srcDir));
  assert.ok(edges.length > 200, 'the import scan found too few imports');
  assert.deepEqual(upwardImports(edges), []);
});

test('the folders of src/ import each other without cycles', () => {
  assert.equal(folderCycle(importEdges(walk(srcDir)))?.join(' -> '), undefined);
});

test('the checks catch an upward import and a cycle (known-bad edges)', () => {
  const bad: [string, string][] = [
    ['mvcc/kv.ts', 'server/etcd-server.ts'],
    ['server/etcd-server.ts', 'mvcc/kv.ts'],
  ];
  assert.deepEqual(upwardImports(bad), ['mvcc/kv.ts imports server/etcd-server.ts']);
  assert.deepEqual(folderCycle(bad), ['mvcc', 'server', 'mvcc']);
});

test('every folder of src/ is in a layer', () => {
  for (const e of readdirSync(srcDir, { withFileTypes: true })) if (e.isDirectory()) rankOf(e.name);
});
