/**
 * The file-level import graph of src/ and its circles, for the layer test.
 *
 * Written here rather than taken from eslint-plugin-import(-x)'s `import/no-cycle`: that rule needs
 * the plugin and a TypeScript resolver (for `./x.js` specifiers that name `./x.ts`), and walks the
 * graph again from every file it lints; this reads each file once with the TypeScript compiler the
 * project already has, and Tarjan's algorithm finds every circle in one pass.
 *
 * An edge is a static `import … from` or `export … from` of a relative specifier, type-only ones
 * included (a type circle is still two files that cannot be read apart); dynamic `import()` is
 * not an edge (the CLI loads its commands lazily, and that creates no load-time circle).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** file → the files it imports (paths as given to `importGraph`). */
export type ImportGraph = Map<string, string[]>;

/** Relative specifiers of the static imports and re-exports of one source text. */
export function staticImports(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: string[] = [];
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      statement.moduleSpecifier.text.startsWith('.')
    )
      out.push(statement.moduleSpecifier.text);
  }
  return out;
}

/**
 * The graph of `sources` (path → text): a specifier `./x.js` names `./x.ts` (ESM with TypeScript);
 * one that names no file in `sources` (JSON, a package) is no edge.
 */
export function importGraph(sources: Map<string, string>): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const [file, text] of sources) {
    const targets = staticImports(file, text)
      .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')))
      .filter((target) => sources.has(target));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The .ts files below `dir`, read. */
export function readTree(dir: string): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && existsSync(path)) sources.set(path, readFileSync(path, 'utf8'));
    }
  };
  walk(resolve(dir));
  return sources;
}

/**
 * The circles of the graph: each strongly connected component of more than one file, or a file
 * that imports itself, as its files sorted (relative to `root` when given).
 */
export function importCircles(graph: ImportGraph, root?: string): string[][] {
  // Tarjan's strongly connected components, iterative (no recursion limit on deep chains).
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const circles: string[][] = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfImport = (graph.get(frame.node) ?? []).includes(frame.node);
        if (component.length > 1 || selfImport)
          circles.push(component.map((f) => (root ? relative(root, f) : f)).sort());
      }
    }
  }
  return circles;
}
