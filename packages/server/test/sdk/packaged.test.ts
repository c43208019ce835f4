import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/**
 * @vidrelay/sdk as npm publishes it: `npm pack` (which builds dist/ on prepack), the tarball
 * installed into an empty project, then used from plain `node` (no tsx, no loader) against a real
 * gateway, and compiled against by `tsc` with Node's module resolution. Inside the monorepo the SDK
 * is consumed from its TypeScript source, so only this test sees what a user of the package gets.
 */

const SDK_DIR = fileURLToPath(new URL("../../../sdk/", import.meta.url));
const IMAGE = fileURLToPath(new URL("../../../../examples/media/landscape-600x450.jpg", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const MODEL = "seedance-1-5-pro-with-audio";

/** The environment without npm's script variables (an outer `npm test` sets npm_config_* etc.) or NODE_OPTIONS. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name) && name !== "NODE_OPTIONS" && name !== "INIT_CWD") env[name] = value;
  }
  return { ...env, ...extra };
}

function run(
  cmd: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv(), timeout: options.timeout ?? 180_000 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${cmd} ${args.join(" ")} failed: ${error.message}\n${stdout}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** What the consumer script prints. */
interface Outcome {
  resolved: string;
  exported: string[];
  upload: { id: string; width: number; height: number };
  status: string;
  progress: number[];
  bytes: number;
  path: string;
}

const CONSUMER_MJS = `
import { TaskFailedError, VidRelay, VidRelayError } from "@vidrelay/sdk";
import * as sdk from "@vidrelay/sdk";

const [image, out] = process.argv.slice(2);
const client = new VidRelay(); // VIDRELAY_API_KEY and VIDRELAY_BASE_URL from the environment
const file = await client.files.upload(image);
const created = await client.videos.create({
  model: ${JSON.stringify(MODEL)},
  prompt: "@image1 the camera slowly pushes in",
  seconds: "4",
  metadata: {
    ratio: "16:9",
    resolution: "480p",
    content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
  },
});
const progress = [];
let done;
try {
  done = await client.videos.wait(created, { onProgress: (t) => progress.push(t.progress), timeoutMs: 240000 });
} catch (error) {
  if (error instanceof TaskFailedError) console.error("task failed:", error.message);
  throw error;
}
if (!(TaskFailedError.prototype instanceof VidRelayError)) throw new Error("the error classes lost their hierarchy");
const path = await client.videos.download(done, out);
console.log(JSON.stringify({
  resolved: import.meta.resolve("@vidrelay/sdk"),
  exported: Object.keys(sdk).sort(),
  upload: { id: file.id, width: file.width, height: file.height },
  status: done.status,
  progress,
  bytes: done.video?.bytes ?? -1,
  path,
}));
`;

/** Compiles only if the package's .d.ts resolve and carry real types (an `any` would make the @ts-expect-error lines unused, which is an error). */
const CONSUMER_TS = `
import { type Task, type TaskStatus, VidRelay, verifyWebhook, WebhookVerificationError } from "@vidrelay/sdk";

export async function render(image: Uint8Array): Promise<string | undefined> {
  const client = new VidRelay({ apiKey: "sk-x", baseURL: "http://127.0.0.1:8080", maxRetries: 1 });
  const file = await client.files.upload(image, { filename: "photo.jpg" });
  const created = await client.videos.create({
    model: ${JSON.stringify(MODEL)},
    seconds: "4",
    metadata: { content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }] },
  });
  const task: Task = await client.videos.wait(created, { onProgress: (t) => t.progress.toFixed(0) });
  const status: TaskStatus = task.status;
  // @ts-expect-error a status is a string union, not a number
  const wrong: number = task.status;
  // @ts-expect-error an unknown client option
  new VidRelay({ apiKey: "sk-x", nope: true });
  void [status, wrong, verifyWebhook, WebhookVerificationError];
  return task.url;
}
`;

describe("the packed @vidrelay/sdk in an empty project", () => {
  let work: string;
  let app: string;
  let t: TestServer;
  let key: string;
  let packed: { filename: string; files: { path: string }[] };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), "vidrelay-sdk-pack-"));
    app = join(work, "app");
    await mkdir(app);
    const [server, pack] = await Promise.all([
      startTestServer(),
      run("npm", ["pack", "--json", "--pack-destination", work], { cwd: SDK_DIR }),
    ]);
    t = server;
    key = await t.newAccountKey("packaged-sdk", true); // a test-mode key: the local engine renders
    packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!;

    await writeFile(
      join(app, "package.json"),
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    // The tarball has no dependencies, so nothing is fetched.
    await run("npm", ["install", "--offline", "--no-audit", "--no-fund", join(work, packed.filename)], {
      cwd: app,
    });
  });
  after(async () => {
    await t?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("ships built JavaScript and declarations, no TypeScript source and no dependencies", async () => {
    const files = packed.files.map((f) => f.path).sort();
    assert.ok(files.includes("dist/index.js"), files.join(", "));
    assert.ok(files.includes("dist/index.d.ts"), files.join(", "));
    for (const file of files) {
      assert.match(
        file,
        /^(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/,
        `${file} should not be published`,
      );
    }
    const pkg = JSON.parse(
      await readFile(join(app, "node_modules", "@vidrelay", "sdk", "package.json"), "utf8"),
    ) as Record<string, unknown>;
    assert.equal(pkg.dependencies, undefined);
    assert.equal(pkg.peerDependencies, undefined);
    assert.deepEqual((pkg.exports as Record<string, unknown>)["."], {
      types: "./dist/index.d.ts",
      import: "./dist/index.js",
      default: "./dist/index.js",
    });
  });

  test("plain node imports it: upload → submit → wait → download an mp4", async () => {
    await writeFile(join(app, "consumer.mjs"), CONSUMER_MJS);
    const out = join(work, "out.mp4");
    const { stdout } = await run(process.execPath, ["consumer.mjs", IMAGE, out], {
      cwd: app,
      env: cleanEnv({ VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: key }),
      timeout: 280_000,
    });
    const outcome = JSON.parse(stdout.trim().split("\n").at(-1)!) as Outcome;

    assert.equal(
      outcome.resolved,
      `file://${join(app, "node_modules", "@vidrelay", "sdk", "dist", "index.js")}`,
    );
    for (const name of [
      "VidRelay",
      "VidRelayError",
      "TaskFailedError",
      "verifyWebhook",
      "parseSSE",
      "SDK_VERSION",
    ]) {
      assert.ok(outcome.exported.includes(name), `${name} is exported`);
    }
    assert.match(outcome.upload.id, /^file_/);
    assert.deepEqual([outcome.upload.width, outcome.upload.height], [600, 450]);
    assert.equal(outcome.status, "succeeded");
    assert.equal(outcome.progress.at(-1), 100);
    assert.equal(outcome.path, out);

    const size = (await stat(out)).size;
    assert.ok(size > 0);
    assert.equal(size, outcome.bytes);
    const head = Buffer.alloc(12);
    const handle = await open(out);
    await handle.read(head, 0, 12, 0);
    await handle.close();
    assert.equal(head.subarray(4, 8).toString("latin1"), "ftyp", "an ISO-BMFF (mp4) file");
    const facts = await clipFacts(out);
    assert.equal(facts.videoCodec, "h264");
    assert.ok(Math.abs(facts.duration - 4) < 0.15, `duration ${facts.duration}`);
    assert.ok(facts.width > facts.height, `16:9 is landscape: ${facts.width}x${facts.height}`);
  });

  test("its .d.ts type-check a consumer under Node's and a bundler's module resolution", async () => {
    await writeFile(join(app, "consumer.ts"), CONSUMER_TS);
    await writeFile(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2022", "DOM", "DOM.Iterable"],
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: false, // the package's own declarations are checked too
          types: [],
        },
        files: ["consumer.ts"],
      }),
    );
    await run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: app });
    // …and a bundler's (Vite, esbuild), which reads the same "types" condition.
    await run(
      process.execPath,
      [TSC, "-p", "tsconfig.json", "--module", "preserve", "--moduleResolution", "bundler"],
      {
        cwd: app,
      },
    );
  });
});
