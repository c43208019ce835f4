/**
 * Cases 1 and 2: GET a task and POST a submit against one gateway per store, each beside a bare
 * node:http baseline that replays the gateway's exact response (and, for SQLite, the bare-Fastify
 * and SQLite-on-tmpfs references that place the gap).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { POSTGRES_URL } from "../../test/helpers/databases.ts";
import type { BaselineChildConfig } from "../baseline-child.ts";
import type { FastifyChildConfig } from "../fastify-child.ts";
import { type Child, startChild } from "../lib/children.ts";
import { compare, type LoadSpec, loadOnce, type Target, type TargetResult } from "../lib/load.ts";
import { type ProfileSummary, summarizeProfile } from "../lib/profile.ts";
import { AUTH, CONNECTIONS, KEY, log, PLAN, PROFILE, PROFILE_SECONDS, SUBMIT_BODY } from "../lib/settings.ts";
import type { GatewayChildConfig } from "../serve-child.ts";

interface RawResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** One request with node:http, keeping the response's raw header names and values. */
function rawRequest(url: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<RawResponse>((resolvePromise, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => {
        const headerPairs: Array<[string, string]> = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          headerPairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        }
        resolvePromise({ status: res.statusCode ?? 0, headers: headerPairs, body: Buffer.concat(chunks) });
      });
    });
    req.once("error", reject);
    req.end(body);
  });
}

/** A baseline that answers with exactly the gateway's status, headers and body (node:http adds the same Date/Connection/Keep-Alive itself). */
function replayConfig(mode: "fixed" | "json", captured: RawResponse): BaselineChildConfig {
  const perConnection = new Set(["date", "connection", "keep-alive", "transfer-encoding"]);
  return {
    mode,
    status: captured.status,
    headers: captured.headers.filter(([name]) => !perConnection.has(name.toLowerCase())),
    bodyBase64: captured.body.toString("base64"),
  };
}

export interface CaseResult {
  targets: TargetResult[];
  profile?: ProfileSummary;
  /** Response body bytes of the gateway. */
  bodyBytes: number;
}

export interface StoreResult {
  store: string;
  get: CaseResult;
  post: CaseResult;
}

export const GATEWAY = "gateway";
export const GATEWAY_TMPFS = "gateway, SQLite file on tmpfs";
export const FASTIFY = "bare Fastify (no store)";
export const BASELINE = "baseline (node:http)";

async function profileWindow(gateway: Child, spec: LoadSpec, dir: string, name: string) {
  const path = join(dir, `${name}.cpuprofile`);
  await gateway.call("profile-start");
  await loadOnce(gateway, spec, PROFILE_SECONDS);
  await gateway.call("profile-stop", { path });
  return summarizeProfile(path);
}

/**
 * GET and POST against one gateway and its baselines. `references` adds the bare-Fastify reference and,
 * where /dev/shm exists, a second gateway with its SQLite file on tmpfs (disk stalls vs CPU).
 */
export async function apiCases(
  store: string,
  root: string,
  databaseUrl: string | undefined,
  references: boolean,
) {
  const dataDir = await mkdtemp(join(root, "gateway-"));
  const shm =
    references && !databaseUrl && existsSync("/dev/shm") ? await mkdtemp("/dev/shm/vidrelay-bench-") : "";
  const children: Child[] = [];
  const start = async (name: string, script: string, config: unknown) => {
    const child = await startChild(name, script, config);
    children.push(child);
    return child;
  };
  try {
    const gateway = await start(`gateway (${store})`, "serve-child.ts", {
      dataDir,
      key: KEY,
      databaseUrl,
    } satisfies GatewayChildConfig);
    log(`${store}: gateway pid ${gateway.pid} at ${gateway.url}`);
    const submitHeaders = { ...AUTH, "content-type": "application/json" };
    const submitted = await rawRequest(
      `${gateway.url}/v1/video/generations`,
      "POST",
      submitHeaders,
      SUBMIT_BODY,
    );
    if (submitted.status !== 200) throw new Error(`submit failed: ${submitted.status} ${submitted.body}`);
    const taskId = (JSON.parse(submitted.body.toString()) as { id: string }).id;
    const getPath = `/v1/video/generations/${taskId}`;
    const got = await rawRequest(`${gateway.url}${getPath}`, "GET", AUTH);
    if (got.status !== 200) throw new Error(`GET failed: ${got.status} ${got.body}`);
    const requestId = (r: RawResponse) => ({
      "x-request-id": r.headers.find(([name]) => name.toLowerCase() === "x-request-id")?.[1] ?? "",
    });

    // 1. GET task
    const getTargets: Target[] = [{ label: GATEWAY, child: gateway }];
    if (references) {
      const child = await start("bare Fastify (GET)", "fastify-child.ts", {
        method: "GET",
        route: "/v1/video/generations/:id",
        headers: requestId(got),
        body: got.body.toString(),
      } satisfies FastifyChildConfig);
      getTargets.push({ label: FASTIFY, child });
    }
    getTargets.push({
      label: BASELINE,
      child: await start("baseline (GET)", "baseline-child.ts", replayConfig("fixed", got)),
    });
    const getSpec: LoadSpec = { method: "GET", path: getPath, headers: AUTH, connections: CONNECTIONS };
    log(`${store}: GET ${getPath} (${got.body.length} B body)`);
    const get: CaseResult = {
      targets: await compare(getTargets, getSpec, PLAN, log),
      bodyBytes: got.body.length,
    };

    // 2. POST submit (workers off: validate + insert + enqueue)
    const postTargets: Target[] = [{ label: GATEWAY, child: gateway }];
    if (shm) {
      const child = await start("gateway (SQLite on tmpfs)", "serve-child.ts", {
        dataDir,
        key: KEY,
        databaseUrl: `sqlite:${join(shm, "vidrelay.db")}`,
      } satisfies GatewayChildConfig);
      postTargets.push({ label: GATEWAY_TMPFS, child });
    }
    if (references) {
      const child = await start("bare Fastify (POST)", "fastify-child.ts", {
        method: "POST",
        route: "/v1/video/generations",
        headers: requestId(submitted),
        body: submitted.body.toString(),
      } satisfies FastifyChildConfig);
      postTargets.push({ label: FASTIFY, child });
    }
    postTargets.push({
      label: BASELINE,
      child: await start("baseline (POST)", "baseline-child.ts", replayConfig("json", submitted)),
    });
    const postSpec: LoadSpec = {
      method: "POST",
      path: "/v1/video/generations",
      headers: submitHeaders,
      body: SUBMIT_BODY,
      connections: CONNECTIONS,
    };
    log(`${store}: POST /v1/video/generations (${submitted.body.length} B response)`);
    const post: CaseResult = {
      targets: await compare(postTargets, postSpec, PLAN, log),
      bodyBytes: submitted.body.length,
    };

    if (PROFILE) {
      log(`${store}: CPU profiles of the gateway (${PROFILE_SECONDS} s each)`);
      get.profile = await profileWindow(gateway, getSpec, dataDir, "get");
      post.profile = await profileWindow(gateway, postSpec, dataDir, "post");
    }
    return { store, get, post } satisfies StoreResult;
  } finally {
    for (const child of children) await child.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (shm) await rm(shm, { recursive: true, force: true });
  }
}

export async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}
