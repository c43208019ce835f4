import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { buildOpenApiDocument } from "../../src/api/openapi.ts";
import { answersOf, ERROR_CODES, type ErrorCode, isErrorCode } from "../../src/domain/error-codes.ts";
import { startTestServer } from "../helpers/server.ts";

/**
 * One registry of error codes (src/domain/error-codes.ts). `ApiError` takes only registered codes
 * (the compiler checks that); this test checks what the compiler cannot: error bodies written by
 * hand, and that every throw's status and type are the ones the registry documents.
 */

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

function sources(dir: string): Array<{ file: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts")
      ? [{ file: relative(SRC, path), text: readFileSync(path, "utf8") }]
      : [];
  });
}

interface Site {
  where: string;
  code: string;
  status?: number;
  type?: string;
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split("\n").length;
}

/** Every place src/ names an error code with its status and type (or one of them). */
function errorSites(): Site[] {
  const sites: Site[] = [];
  for (const { file, text } of sources(SRC)) {
    if (file === "domain/error-codes.ts") continue;
    const at = (m: RegExpMatchArray) => `${file}:${lineOf(text, m.index!)}`;
    for (const m of text.matchAll(/new ApiError\(\s*(\d+),\s*"(\w+)",\s*"(\w+)"/g))
      sites.push({ where: at(m), status: Number(m[1]), type: m[2], code: m[3]! });
    for (const m of text.matchAll(/new BillingRefusal\(\s*"\w+",\s*(\d+),\s*"(\w+)",\s*"(\w+)"/g))
      sites.push({ where: at(m), status: Number(m[1]), type: m[2], code: m[3]! });
    for (const m of text.matchAll(/\binvalid\(\s*"(\w+)"/g))
      sites.push({ where: at(m), status: 400, type: "invalid_request_error", code: m[1]! });
    for (const m of text.matchAll(/\bnotFound\(\s*"(\w+)"/g))
      sites.push({ where: at(m), status: 404, type: "not_found_error", code: m[1]! });
    // Bodies written by hand: `{ message, type: "…_error", code: "…", param }`.
    for (const m of text.matchAll(/type: "(\w+_error)",\s*code: "(\w+)"/g))
      sites.push({ where: at(m), type: m[1], code: m[2]! });
    // The HTTP parser's refusals in http/server-options.ts: `[status, "code", "message"]`.
    for (const m of text.matchAll(/\[(\d{3}), "(\w+)", "/g))
      sites.push({ where: at(m), status: Number(m[1]), code: m[2]! });
    // Framework refusals: sendError(reply, status, "type", "code", …).
    for (const m of text.matchAll(/sendError\(\s*reply,\s*(\d+),\s*"(\w+)",\s*"(\w+)"/g))
      sites.push({ where: at(m), status: Number(m[1]), type: m[2], code: m[3]! });
  }
  return sites;
}

describe("the error code registry", () => {
  const sites = errorSites();

  test("the scan finds the throws (a guard against passing on nothing)", () => {
    assert.ok(sites.length > 100, `only ${sites.length} error sites found`);
    assert.ok(sites.some((s) => s.code === "task_not_found" && s.status === 404));
    assert.ok(sites.some((s) => s.code === "route_not_found" && s.type === "not_found_error"));
  });

  test("every code src/ answers with is registered, with the status and type it is thrown with", () => {
    const wrong: string[] = [];
    for (const site of sites) {
      if (!isErrorCode(site.code)) {
        wrong.push(`${site.where}: "${site.code}" is not in domain/error-codes.ts`);
        continue;
      }
      const answers = answersOf(site.code);
      const fits = answers.some(
        ([status, type]) =>
          (site.status === undefined || site.status === status) &&
          (site.type === undefined || site.type === type),
      );
      if (!fits) {
        wrong.push(
          `${site.where}: "${site.code}" thrown as ${site.status ?? "?"} ${site.type ?? "?"}; registered as ${answers.map(([s, t]) => `${s} ${t}`).join(" or ")}`,
        );
      }
    }
    assert.deepEqual(wrong, []);
  });

  test("every registered code is used somewhere (a removed refusal leaves no stale entry)", () => {
    // Codes also travel through constant tables (media/refusals.ts) and `fail(code, …)` helpers:
    // any string literal outside the registry counts as a use.
    const others = sources(SRC).filter((s) => s.file !== "domain/error-codes.ts");
    const unused = (Object.keys(ERROR_CODES) as ErrorCode[]).filter(
      (code) => !others.some((s) => s.text.includes(`"${code}"`)),
    );
    assert.deepEqual(unused, []);
  });

  test("the OpenAPI document lists each error status's registered codes", async () => {
    const t = await startTestServer();
    try {
      const doc = buildOpenApiDocument(t.server.url, t.server.routes) as {
        paths: Record<string, Record<string, { responses: Record<string, { "x-error-codes"?: string[] }> }>>;
      };
      const submit = doc.paths["/v1/video/generations"]!.post!.responses;
      assert.ok(submit["400"]!["x-error-codes"]!.includes("invalid_type"));
      assert.ok(submit["400"]!["x-error-codes"]!.includes("model_not_found"));
      assert.ok(submit["401"]!["x-error-codes"]!.includes("invalid_api_key"));
      const get = doc.paths["/v1/video/generations/{task_id}"]!.get!.responses;
      assert.ok(get["404"]!["x-error-codes"]!.includes("task_not_found"));
      for (const [path, operations] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(operations)) {
          for (const [status, response] of Object.entries(op.responses)) {
            if (Number(status) < 400) continue;
            assert.ok(response["x-error-codes"]?.length, `${method} ${path} ${status} lists no codes`);
            for (const code of response["x-error-codes"]!) assert.ok(isErrorCode(code), code);
          }
        }
      }
    } finally {
      await t.stop();
    }
  });
});
