import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  FILE_KEYS,
  FILE_REQUIRED_KEYS,
  MODEL_KEYS,
  MODEL_REQUIRED_KEYS,
  SUBMIT_METADATA_KEYS,
  TASK_CREATED_KEYS,
  TASK_CREATED_REQUIRED_KEYS,
  TASK_KEYS,
  TASK_REQUIRED_KEYS,
  VIDEO_CREATE_KEYS,
  VIDEO_CREATE_REQUIRED_KEYS,
} from "@vidrelay/sdk";
import { SDK_TYPES } from "../../scripts/generate-sdk-types.ts";
import { toJsonSchema } from "../../src/http/schema.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  title?: string;
}

/** The object schema inside a (possibly nullable / union) schema. */
function objectSchema(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (!schema) return undefined;
  if (schema.properties) return schema;
  for (const option of schema.anyOf ?? []) {
    const found = objectSchema(option);
    if (found) return found;
  }
  return undefined;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: JsonSchema & { $ref?: string } }> };
  responses: Record<string, { content?: Record<string, { schema: JsonSchema & { $ref?: string } }> }>;
}

/**
 * The SDK's types against the live server's OpenAPI document. The types are generated from the
 * server's schemas (test/sdk/generated-types.test.ts keeps the file current); this checks that
 * those are the schemas the routes actually serve.
 */
describe("SDK types match the server's OpenAPI document", () => {
  let t: TestServer;
  let schemas: Record<string, JsonSchema>;
  let paths: Record<string, Record<string, Operation>>;
  before(async () => {
    t = await startTestServer();
    const res = await fetch(`${t.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as {
      components: { schemas: Record<string, JsonSchema> };
      paths: Record<string, Record<string, Operation>>;
    };
    schemas = doc.components.schemas;
    paths = doc.paths;
  });
  after(() => t.stop());

  test("every JSON body and response of /v1 is a type the SDK generates", () => {
    // Each generated type's schema as the document publishes it (the same conversion openapi.ts uses).
    const published = SDK_TYPES.map((type) => ({
      ...type,
      json: JSON.stringify(toJsonSchema(type.schema, { io: type.io })),
    }));
    const resolve = (schema: JsonSchema & { $ref?: string }) =>
      schema.$ref ? schemas[schema.$ref.replace("#/components/schemas/", "")] : schema;
    const missing: string[] = [];
    let checked = 0;
    const check = (
      where: string,
      io: "input" | "output",
      schema: (JsonSchema & { $ref?: string }) | undefined,
    ) => {
      if (!schema) return;
      checked++;
      const json = JSON.stringify(resolve(schema));
      if (!published.some((type) => type.io === io && type.json === json)) missing.push(where);
    };
    for (const [path, operations] of Object.entries(paths)) {
      if (!path.startsWith("/v1/")) continue;
      for (const [method, op] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path} (${op.operationId})`;
        check(`${where} request body`, "input", op.requestBody?.content["application/json"]?.schema);
        check(`${where} response`, "output", op.responses["200"]?.content?.["application/json"]?.schema);
      }
    }
    assert.ok(checked >= 40, `only ${checked} JSON bodies and responses found in the document`);
    assert.deepEqual(
      missing,
      [],
      "these bodies have no generated SDK type: name their schema in the server's schemas.ts, add it to " +
        "SDK_TYPES in packages/server/scripts/generate-sdk-types.ts and run `npm run generate:sdk`",
    );
  });

  const cases: [
    string,
    readonly string[],
    readonly string[],
    (s: Record<string, JsonSchema>) => JsonSchema | undefined,
  ][] = [
    ["Task", TASK_KEYS, TASK_REQUIRED_KEYS, (s) => s.Task],
    ["TaskCreated", TASK_CREATED_KEYS, TASK_CREATED_REQUIRED_KEYS, (s) => s.TaskCreated],
    ["File", FILE_KEYS, FILE_REQUIRED_KEYS, (s) => s.File],
    ["Model", MODEL_KEYS, MODEL_REQUIRED_KEYS, (s) => s.Model],
    ["SubmitBody", VIDEO_CREATE_KEYS, VIDEO_CREATE_REQUIRED_KEYS, (s) => s.SubmitBody],
    [
      "SubmitBody.metadata",
      SUBMIT_METADATA_KEYS,
      [],
      (s) => objectSchema(s.SubmitBody?.properties?.metadata),
    ],
  ];

  for (const [name, keys, required, pick] of cases) {
    test(`${name}: the same property names, and the same required ones`, () => {
      const schema = objectSchema(pick(schemas));
      assert.ok(schema?.properties, `no object schema for ${name} in /openapi.json`);
      const properties = Object.keys(schema.properties);
      const notInSchema = keys.filter((k) => !properties.includes(k));
      assert.deepEqual(notInSchema, [], `SDK ${name} has properties the server does not document`);
      const notInSdk = properties.filter((p) => !keys.includes(p));
      assert.deepEqual(notInSdk, [], `the server's ${name} has properties the SDK does not know`);
      assert.deepEqual(
        sorted(required),
        sorted(schema.required ?? []),
        `required fields of ${name} differ (SDK vs server)`,
      );
    });
  }
});
