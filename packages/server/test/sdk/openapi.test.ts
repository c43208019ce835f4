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

/**
 * The SDK's hand-written types (as run-time key lists, which the compiler ties to the interfaces)
 * against the live server's OpenAPI document: a field added, removed or made optional on either
 * side fails here.
 */
describe("SDK types match the server's OpenAPI document", () => {
  let t: TestServer;
  let schemas: Record<string, JsonSchema>;
  before(async () => {
    t = await startTestServer();
    const res = await fetch(`${t.url}/openapi.json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { components: { schemas: Record<string, JsonSchema> } };
    schemas = doc.components.schemas;
  });
  after(() => t.stop());

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
