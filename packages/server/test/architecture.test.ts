import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * The shape of the server's source, checked on every run: imports point down a stack of folders
 * (docs/architecture.md draws it), never in a circle, and provider-specific code stays in its
 * provider's folder. A change that breaks one of these fails here, with the import that did it.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** file (relative to src/) → the files of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) => relative(SRC, resolve(dirname(file), m[1]!)));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** The top-level folder (or root file) a path belongs to: `tasks/lifecycle.ts` → `tasks`. */
const area = (path: string) => path.split("/")[0]!;

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of graph.keys()) {
    if (!state.has(node)) {
      const cycle = visit(node);
      if (cycle) return cycle;
    }
  }
  return undefined;
}

describe("the server's import structure", () => {
  const files = importGraph();

  test("the parser sees the imports (a guard against this test passing on nothing)", () => {
    assert.ok(files.size > 80, `only ${files.size} source files found under ${SRC}`);
    assert.ok(files.get("server.ts")!.includes("app-services.ts"));
    assert.ok(files.get("app-services.ts")!.includes("tasks/lifecycle.ts"));
  });

  test("no file imports itself through others", () => {
    const graph = new Map([...files].map(([file, targets]) => [file, new Set(targets)]));
    const cycle = findCycle(graph);
    assert.equal(cycle, undefined, `import cycle: ${cycle?.join(" → ")}`);
  });

  test("folders form a stack: no folder reaches back to one that imports it", () => {
    const graph = new Map<string, Set<string>>();
    for (const [file, targets] of files) {
      const from = area(file);
      const set = graph.get(from) ?? new Set<string>();
      for (const target of targets) if (area(target) !== from) set.add(area(target));
      graph.set(from, set);
    }
    const cycle = findCycle(graph);
    assert.equal(cycle, undefined, `folders importing each other: ${cycle?.join(" → ")}`);
  });

  test("domain/ is the floor: it imports nothing of ours", () => {
    for (const [file, targets] of files) {
      if (area(file) !== "domain") continue;
      const outside = targets.filter((t) => area(t) !== "domain");
      assert.deepEqual(outside, [], `${file} imports ${outside.join(", ")}`);
    }
  });

  test("provider-specific code stays in providers/<name>/; only the registry names the adapters", () => {
    const providerFolder = (path: string) => /^providers\/([^/]+)\//.exec(path)?.[1];
    for (const [file, targets] of files) {
      for (const target of targets) {
        const provider = providerFolder(target);
        if (!provider) continue;
        const own = providerFolder(file) === provider;
        assert.ok(own || file === "providers/registry.ts", `${file} reaches into providers/${provider}/`);
      }
    }
  });
});

/** Source of the three packages a person edits (generated files excepted: they are regenerated, not read). */
function editedSources(): string[] {
  const roots = ["src", "scripts", "../sdk/src", "../console/src"].map((p) => resolve(SRC, "..", p));
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "generated" ? [] : walk(path);
      return /\.tsx?$/.test(entry.name) ? [path] : [];
    });
  return roots.flatMap(walk);
}

describe("the size of what a person reads", () => {
  const files = editedSources();

  test("the walk sees the packages (a guard against passing on nothing)", () => {
    assert.ok(files.length > 250, `only ${files.length} files`);
    assert.ok(files.some((f) => f.endsWith("console/src/App.tsx")));
  });

  test("no source file is over 400 lines: a longer one is split on a seam", () => {
    const long = files
      .map((file) => ({ file, lines: readFileSync(file, "utf8").split("\n").length }))
      .filter((f) => f.lines > 400)
      .map((f) => `${relative(resolve(SRC, "../.."), f.file)}: ${f.lines} lines`);
    assert.deepEqual(long, []);
  });

  test("no function is over 120 lines", () => {
    const long: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, "utf8");
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
      const visit = (node: ts.Node): void => {
        if (ts.isFunctionLike(node) && "body" in node && node.body) {
          const first = source.getLineAndCharacterOfPosition(node.getStart()).line;
          const last = source.getLineAndCharacterOfPosition(node.end).line;
          if (last - first + 1 > 120) {
            const name = (node as ts.FunctionDeclaration).name?.getText(source) ?? "(anonymous)";
            long.push(
              `${relative(resolve(SRC, "../.."), file)}:${first + 1} ${name}: ${last - first + 1} lines`,
            );
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(source);
    }
    assert.deepEqual(long, []);
  });
});
