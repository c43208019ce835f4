import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { sql } from "kysely";
import { normalizeSubmit } from "../../src/catalog/validate.ts";
import { loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { randomAlphanumeric } from "../../src/util/ids.ts";

export interface HotPaths {
  costs: HotPathCost[];
  /** Pages one submit writes to the SQLite WAL. */
  walPagesPerSubmit: number;
  /** Indexes per table in the SQLite store. */
  indexes: Record<string, number>;
  /** The SQL of every statement one GET (`TaskService.get`) and one submit run, in order. */
  statements: { get: string[]; submit: string[] };
}

export interface HotPathCost {
  name: string;
  /** Mean CPU time (user + system of this process) per call, µs. */
  cpuUs: number;
  /** Mean wall time per call, µs. */
  wallUs: number;
}

async function measure(name: string, n: number, fn: () => unknown): Promise<HotPathCost> {
  for (let i = 0; i < Math.min(n, 1000); i++) await fn();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  const wallUs = Number(process.hrtime.bigint() - started) / 1e3 / n;
  const used = process.cpuUsage(cpu);
  return { name, cpuUs: (used.user + used.system) / n, wallUs };
}

/**
 * The pieces of the GET and POST hot paths, timed one call after another in this process (no HTTP, no
 * concurrency), against real gateways started in-process: a SQLite store in `root` (the default data dir
 * layout) and, where /dev/shm exists, one on tmpfs, to tell disk stalls from CPU.
 */
export async function hotPathCosts(
  root: string,
  key: string,
  submitBody: unknown,
  quick: boolean,
): Promise<HotPaths> {
  const n = quick ? 2000 : 10_000;
  const submits = quick ? 500 : 3000;
  const servers: RunningServer[] = [];
  const dirs: string[] = [];
  const start = async (dataDir: string, databaseUrl?: string) => {
    const config = { host: "127.0.0.1", port: 0, dataDir, databaseUrl, bootstrapKey: key };
    const server = await startServer(loadConfig({ ...config, logLevel: "silent", workers: false }, {}));
    servers.push(server);
    return server;
  };
  const results: HotPathCost[] = [];
  let reader: SQLite.Database | undefined;
  try {
    const dataDir = await mkdtemp(join(root, "micro-"));
    dirs.push(dataDir);
    const server = await start(dataDir);
    const { services: ctx } = server;
    const principal = await ctx.auth.authenticate(`Bearer ${key}`);
    const accountId = principal.account.id;
    const { task } = await ctx.tasks.submit(principal, submitBody);
    const query = () =>
      ctx.db.selectFrom("tasks").selectAll().where("id", "=", task.id).where("account_id", "=", accountId);
    const compiled = query().compile();
    const parameters = compiled.parameters as unknown[];
    reader = new SQLite(join(dataDir, "vidrelay.db"), { readonly: true });
    const db = reader;
    const cached = db.prepare(compiled.sql);

    results.push(
      await measure("GET: `TaskRepository.get` (Kysely → better-sqlite3)", n, () =>
        ctx.taskRepo.get({ accountId, testMode: 0 }, task.id),
      ),
      await measure("GET: … of which Kysely builds + compiles the query", n, () => query().compile()),
      await measure(
        "GET: the same SELECT, prepared for each call (`db.prepare(sql).all()`, as Kysely's driver does)",
        n,
        () => db.prepare(compiled.sql).all(...parameters),
      ),
      await measure("GET: the same SELECT on a cached statement (`stmt.all()`)", n, () =>
        cached.all(...parameters),
      ),
      await measure("GET: `AuthService.authenticate` (cache hit)", n, () =>
        ctx.auth.authenticate(`Bearer ${key}`),
      ),
      await measure("GET + POST: `randomAlphanumeric(20)` (each request id)", n, () =>
        randomAlphanumeric(20),
      ),
      await measure("GET: `TaskPresenter.toApi` + `JSON.stringify`", n, () =>
        JSON.stringify(ctx.presenter.toApi(task)),
      ),
      await measure("GET + POST: `httpDuration.observe` (onResponse hook)", n, () =>
        ctx.metrics.httpDuration.observe(
          { method: "GET", route: "/v1/video/generations/:id", status: "200" },
          0.001,
        ),
      ),
      await measure("POST: `normalizeSubmit` (validation)", n, () =>
        normalizeSubmit(structuredClone(submitBody), ctx.catalog),
      ),
      await measure("POST: `TaskService.submit`, SQLite file in the data dir", submits, () =>
        ctx.tasks.submit(principal, submitBody),
      ),
    );
    // Every statement the store runs, as executed: the store keeps prepared statements (db.ts
    // withStatementCache), so hooking Database#prepare would see only the first of each; hook the
    // executing methods of better-sqlite3's Statement instead.
    const statements = { get: [] as string[], submit: [] as string[] };
    const scratch = new SQLite(":memory:");
    const statementProto = Object.getPrototypeOf(scratch.prepare("select 1")) as Record<
      "run" | "all" | "get" | "iterate",
      (this: SQLite.Statement, ...args: unknown[]) => unknown
    >;
    scratch.close();
    const originals = {
      run: statementProto.run,
      all: statementProto.all,
      get: statementProto.get,
      iterate: statementProto.iterate,
    };
    let into: string[] | undefined;
    for (const method of ["run", "all", "get", "iterate"] as const) {
      const original = originals[method];
      statementProto[method] = function (this: SQLite.Statement, ...args: unknown[]) {
        into?.push(this.source.replace(/\s+/g, " ").trim());
        return original.apply(this, args);
      };
    }
    try {
      into = statements.get;
      await ctx.tasks.get({ accountId, testMode: 0 }, task.id);
      into = statements.submit;
      await ctx.tasks.submit(principal, submitBody);
    } finally {
      into = undefined;
      Object.assign(statementProto, originals);
    }

    // Pages one submit writes to the WAL: checkpoint, stop auto-checkpoints on this connection, submit,
    // then read the WAL's frame count (a frame is one page).
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(ctx.db);
    await sql`pragma wal_autocheckpoint = 0`.execute(ctx.db);
    const sample = 200;
    for (let i = 0; i < sample; i++) await ctx.tasks.submit(principal, submitBody);
    const wal = await sql<{ log: number }>`pragma wal_checkpoint(PASSIVE)`.execute(ctx.db);
    const walPagesPerSubmit = (wal.rows[0]?.log ?? Number.NaN) / sample;
    const indexRows = await sql<{ table: string; n: number }>`
      select tbl_name as "table", count(*) as n from sqlite_master where type = 'index' group by tbl_name
    `.execute(ctx.db);
    const indexes = Object.fromEntries(indexRows.rows.map((r) => [r.table, Number(r.n)]));
    if (existsSync("/dev/shm")) {
      const shm = await mkdtemp("/dev/shm/vidrelay-bench-");
      dirs.push(shm);
      const onTmpfs = await start(dataDir, `sqlite:${join(shm, "vidrelay.db")}`);
      const p = await onTmpfs.services.auth.authenticate(`Bearer ${key}`);
      results.push(
        await measure("POST: `TaskService.submit`, SQLite file on tmpfs", submits, () =>
          onTmpfs.services.tasks.submit(p, submitBody),
        ),
      );
    }
    return { costs: results, walPagesPerSubmit, indexes, statements };
  } finally {
    reader?.close();
    for (const server of servers) await server.close(2000);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}
