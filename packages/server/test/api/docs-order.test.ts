import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { buildOpenApiDocument } from "../../src/api/openapi.ts";
import { inReadingOrder, READING_ORDER } from "../../src/api/routes/docs.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
}
interface Doc {
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
}

/** The operations as the reference page lists them: section by section (`tags`), in `paths` order. */
function readingOrder(doc: Doc): { tag: string; path: string; method: string; summary: string }[] {
  return doc.tags.flatMap(({ name }) =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags[0] === name)
        .map(([method, op]) => ({ tag: name, path, method, summary: op.summary })),
    ),
  );
}

/** `/docs` renders /openapi.json; the document opens on submitting a task and polling it. */
describe("/openapi.json reads in order: submit and poll first", () => {
  let t: TestServer;
  let doc: Doc;
  before(async () => {
    t = await startTestServer({ workers: false });
    doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as Doc;
  });
  after(() => t.stop());

  test("the first section is Tasks, and it says how to submit and poll", () => {
    assert.equal(doc.tags[0]?.name, "Tasks");
    const intro = doc.tags[0]!.description ?? "";
    assert.match(intro, /^Start here\. Submit a task with `POST \/v1\/video\/generations`/);
    assert.match(intro, /then poll `GET \/v1\/video\/generations\/\{task_id\}`/);
  });

  test("the first operations are submit, then the task poll, its events and its video", () => {
    const order = readingOrder(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    assert.deepEqual(order.slice(0, 3), [
      "POST /v1/video/generations",
      "GET /v1/video/generations",
      "GET /v1/video/generations/{task_id}",
    ]);
    assert.deepEqual(order.slice(3, 6), [
      "GET /v1/video/generations/{task_id}/events",
      "GET /v1/video/generations/{task_id}/content",
      "POST /v1/video/generations/{task_id}/cancel",
    ]);
    // Media downloads (first when paths sort alone: /files/…) come after every Tasks, Files and Models route.
    const firstMedia = order.findIndex((o) => o.includes("/files/{name}") || o.includes("/videos/{name}"));
    const lastFilesOrModels = Math.max(
      ...readingOrder(doc)
        .map((o, i) => (["Tasks", "Files", "Models"].includes(o.tag) ? i : -1))
        .filter((i) => i >= 0),
    );
    assert.ok(firstMedia > lastFilesOrModels, `media at ${firstMedia}, before ${lastFilesOrModels}`);
    assert.equal(Object.keys(doc.paths)[0], "/v1/video/generations", "the paths themselves begin there too");
  });

  test("sections follow READING_ORDER; every tag in use is listed once, and no route is lost", () => {
    const names = doc.tags.map((tag) => tag.name);
    assert.equal(new Set(names).size, names.length);
    const known = READING_ORDER.map((tag) => tag.name).filter((name) => names.includes(name));
    assert.deepEqual(names.slice(0, known.length), known);
    const used = new Set(
      Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.tags[0]!)),
    );
    assert.deepEqual([...used].sort(), [...names].sort());
    const declared = t.server.routes.filter((r) => r.spec).length;
    assert.equal(readingOrder(doc).length, declared);
  });

  test("a tag the reading order does not name is still listed, after the named ones", () => {
    const built = buildOpenApiDocument("http://x", t.server.routes) as unknown as Doc;
    const [first] = Object.values(built.paths["/healthz"]!);
    first!.tags = ["Brand new"];
    const ordered = inReadingOrder(built as unknown as Record<string, unknown>) as unknown as Doc;
    assert.equal(ordered.tags.at(-1)?.name, "Brand new");
    assert.equal(Object.keys(ordered.paths).at(-1), "/healthz");
  });
});
