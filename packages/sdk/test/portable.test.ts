import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));
const PKG = fileURLToPath(new URL("../package.json", import.meta.url));

/**
 * The SDK as plain JavaScript (what `npm run build` publishes), run by plain `node` without tsx:
 * proves it needs no runtime dependency and no TypeScript loader, and that nothing imports a
 * Node built-in at module load (so browsers and bundlers can load it).
 */
describe("the SDK compiled to plain JavaScript", () => {
  let out: string;
  const emitted = new Map<string, string>();
  before(async () => {
    out = await mkdtemp(join(tmpdir(), "sdk-js-"));
    const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith(".ts"));
    for (const file of files) {
      const source = await readFile(join(SRC, file), "utf8");
      const { outputText } = ts.transpileModule(source, {
        fileName: file,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          rewriteRelativeImportExtensions: true,
          verbatimModuleSyntax: true,
        },
      });
      const target = join(out, file.replace(/\.ts$/, ".js"));
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, outputText);
      emitted.set(relative(out, target), outputText);
    }
    await writeFile(join(out, "package.json"), JSON.stringify({ type: "module" }));
  });
  after(() => rm(out, { recursive: true, force: true }));

  test("has zero runtime dependencies", async () => {
    const pkg = JSON.parse(await readFile(PKG, "utf8")) as Record<string, unknown>;
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
    for (const [file, code] of emitted) {
      for (const match of code.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)) {
        assert.ok(match[1]!.startsWith("./") || match[1]!.startsWith("../"), `${file} imports ${match[1]}`);
        assert.ok(match[1]!.endsWith(".js"), `${file}: ${match[1]} was not rewritten to .js`);
      }
      assert.doesNotMatch(code, /\bimport\s*\(\s*["']node:/, `${file} imports a node: module by name`);
      assert.doesNotMatch(code, /\brequire\s*\(/, `${file} uses require`);
    }
  });

  test("runs under plain node: webhook vector, typed connection error", async () => {
    const script = `
      import { signWebhook, VidRelay, APIConnectionError } from ${JSON.stringify(join(out, "index.js"))};
      const sig = await signWebhook("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
      const client = new VidRelay({ apiKey: "sk-x", baseURL: "http://127.0.0.1:9/v1", maxRetries: 0 });
      const error = await client.models.list().catch((e) => e);
      console.log(JSON.stringify({ sig, base: client.baseURL, connection: error instanceof APIConnectionError }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      env: { PATH: process.env.PATH ?? "" },
    });
    assert.deepEqual(JSON.parse(stdout), {
      sig: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
      base: "http://127.0.0.1:9",
      connection: true,
    });
  });
});
