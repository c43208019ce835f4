import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { relative } from "node:path";
import { describe, test } from "node:test";
import { z } from "zod";
import {
  emitSdkTypes,
  GENERATE_COMMAND,
  generateSdkTypes,
  OUTPUT_PATH,
} from "../../scripts/generate-sdk-types.ts";

describe("the SDK's generated types", () => {
  test("the checked-in file is what the server's schemas generate now", async () => {
    const expected = generateSdkTypes();
    const current = await readFile(OUTPUT_PATH, "utf8").catch(() => "");
    if (current !== expected) {
      const a = current.split("\n");
      const b = expected.split("\n");
      let line = 0;
      while (line < Math.max(a.length, b.length) && a[line] === b[line]) line++;
      assert.fail(
        `${relative(process.cwd(), OUTPUT_PATH)} is stale (first difference at line ${line + 1}: ` +
          `has ${JSON.stringify(a[line] ?? "<end>")}, expected ${JSON.stringify(b[line] ?? "<end>")}). ` +
          `Run \`${GENERATE_COMMAND}\` at the repository's root and commit the result.`,
      );
    }
  });
});

describe("the JSON Schema → TypeScript emitter", () => {
  const Colour = z.enum(["red", "green"]);
  const Part = z.object({ n: z.int() });
  const emit = (
    schema: z.ZodType,
    io: "input" | "output" = "output",
    extra: Parameters<typeof emitSdkTypes>[0] = [],
  ) => emitSdkTypes([{ name: "Thing", schema, io }, ...extra], [{ name: "Colour", values: Colour.options }]);

  test("required, optional and nullable fields; descriptions become doc comments", () => {
    const text = emit(
      z
        .object({
          a: z.string().describe("The a."),
          b: z.int().optional(),
          c: z.boolean().nullable(),
          d: z.literal("x").nullish(),
        })
        .meta({ description: "A thing." }),
    );
    assert.match(text, /\/\*\* A thing\. \*\/\nexport interface Thing \{/);
    assert.match(text, /\/\*\* The a\. \*\/\n {2}a: string;/);
    assert.match(text, /\n {2}b\?: number;/);
    assert.match(text, /\n {2}c: boolean \| null;/);
    assert.match(text, /\n {2}d\?: "x" \| null;/);
  });

  test("inputs: a default makes a field optional; outputs: it is always there", () => {
    const schema = z.object({ limit: z.int().default(20) });
    assert.match(emit(schema, "input"), /limit\?: number;/);
    assert.match(emit(schema, "output"), /limit: number;/);
  });

  test("a loose object gets an index signature, a record is a Record", () => {
    assert.match(emit(z.looseObject({ a: z.string() })), /\[key: string\]: unknown;/);
    assert.doesNotMatch(emit(z.object({ a: z.string() })), /\[key: string\]/);
    assert.match(emit(z.object({ m: z.record(z.string(), z.int()) })), /m: Record<string, number>;/);
  });

  test("enums with a named value set use the name; others are literal unions", () => {
    const text = emit(z.object({ c: z.enum(["green", "red"]), d: z.enum(["red", "blue"]) }));
    assert.match(text, /export type Colour = "red" \| "green";/);
    assert.match(text, /\n {2}c: Colour;/);
    assert.match(text, /\n {2}d: "red" \| "blue";/);
  });

  test("a named schema nested in another is referred to by name; unions and arrays", () => {
    const text = emit(z.object({ parts: z.array(Part), either: z.union([Part, z.string()]) }), "output", [
      { name: "Part", schema: Part, io: "output" },
    ]);
    assert.match(text, /parts: Part\[\];/);
    assert.match(text, /either: Part \| string;/);
    assert.match(text, /export interface Part \{\n {2}n: number;\n\}/);
  });

  test("key lists follow the schema's properties", () => {
    const text = emitSdkTypes(
      [
        {
          name: "Thing",
          schema: z.object({ a: z.string(), b: z.string().optional() }),
          io: "output",
          keys: { prefix: "THING" },
        },
      ],
      [],
    );
    assert.match(text, /THING_KEYS: readonly \(keyof Thing & string\)\[\] = \["a","b"\];/);
    assert.match(text, /THING_REQUIRED_KEYS: readonly \(keyof Thing & string\)\[\] = \["a"\];/);
  });

  test("a schema the emitter cannot type is refused, naming where", () => {
    // A tuple is `prefixItems`, which the emitter does not know: refused, not typed as `unknown[]`.
    assert.throws(
      () => emit(z.object({ pair: z.tuple([z.string(), z.int()]) })),
      /Thing\.pair: JSON Schema keyword "prefixItems"/,
    );
  });

  test("two types of one name are refused", () => {
    assert.throws(
      () => emit(Part, "output", [{ name: "Thing", schema: Part, io: "output" }]),
      /two generated types are named Thing/,
    );
  });
});
