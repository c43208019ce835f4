/**
 * Generates `packages/sdk/src/generated/api-types.ts`: one TypeScript type per API object, from
 * the zod schemas that validate the server's routes and feed `/openapi.json`. The SDK re-exports
 * them (`packages/sdk/src/types.ts`) and the console imports them from the SDK, so an API object
 * has one shape: the server's.
 *
 *   npm run generate:sdk          (from the repository's root) writes the file
 *
 * `test/sdk/generated-types.test.ts` regenerates it in memory and fails when the checked-in file is
 * stale; `test/sdk/openapi.test.ts` checks that every JSON body and response of `/v1` in the live
 * document is one of the schemas listed here, so a new route cannot go without an SDK type.
 *
 * The input is the schemas themselves, not the OpenAPI document, so a change to how the document
 * describes routes (statuses, error responses, parameters) never makes the file stale.
 *
 * The emitter is small on purpose: it knows the JSON Schema that `z.toJSONSchema` produces for the
 * schema kinds the API uses, and throws on anything else rather than guessing a type.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";
import { ModelList, ModelObject, ParameterSupport } from "../src/api/schemas.ts";
import {
  AccountQuery,
  AmountBody,
  BalanceObject,
  LedgerEntry,
  LedgerList,
  LedgerResult,
  LimitsBody,
  LimitsObject,
  ModelPrice,
  ModelPrices,
  PriceBody,
  PriceHistory,
  PriceObject,
  UsageQuery,
  UsageReport,
  UsageRowObject,
  UsageTotals,
} from "../src/billing/schemas.ts";
import { ModelDeclarationSchema } from "../src/catalog/declaration.ts";
import { AUDIO_POLICIES, FITS, MODES, RATIOS, RESOLUTIONS } from "../src/catalog/models.ts";
import { ChannelBody, ChannelList, ChannelObject, ChannelTestResult } from "../src/channels/schemas.ts";
import { FileDeleted, FileList, FileObject } from "../src/files/schemas.ts";
import { ErrorBody, ErrorType } from "../src/http/schema.ts";
import {
  AccountList,
  AccountObject,
  BillingModeSchema,
  CreateKeyBody,
  KeyCreated,
  KeyList,
  KeyObject,
  UpdateAccountBody,
  WhoAmI,
} from "../src/keys/schemas.ts";
import {
  ModelEntryList,
  ModelEntryObject,
  ModelPatchBody,
  ModelPutBody,
  ModelVersionList,
} from "../src/models/schemas.ts";
import {
  OpenAiVideo,
  OpenAiVideoDeleted,
  OpenAiVideoList,
  VideoCreateBody,
  VideoEditBody,
  VideoExtendBody,
  VideoRemixBody,
  VideoStatus,
} from "../src/openai/schemas.ts";
import {
  AudioContent,
  ContentItem,
  ImageContent,
  ImageRole,
  SubmitBody,
  SubmitMetadata,
  TaskCreated,
  TaskError,
  TaskEstimate,
  TaskList,
  TaskMetadataEcho,
  TaskObject,
  TaskStatus,
  TaskUsage,
  VideoContent,
  VideoInfo,
} from "../src/tasks/schemas.ts";
import {
  DeliveryAttempt,
  DeliveryList,
  DeliveryObject,
  DeliveryStatus,
  RotateSecretBody,
  WebhookSecret,
} from "../src/webhooks/schemas.ts";

import { docComment, Emitter, literal, type NamedEnum, type Schema, unionOf } from "./json-schema-emitter.ts";

export type { NamedEnum } from "./json-schema-emitter.ts";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "../../..");
export const OUTPUT_PATH = join(REPO_ROOT, "packages/sdk/src/generated/api-types.ts");
export const GENERATE_COMMAND = "npm run generate:sdk";

export interface NamedType {
  /** The exported TypeScript name (the SDK's public name; keep stable). */
  name: string;
  schema: z.ZodType;
  /** `input` for request bodies and queries (defaults make fields optional), `output` for responses. */
  io: "input" | "output";
  /** Also emit run-time property lists: `<PREFIX>_KEYS` and (unless `required: false`) `<PREFIX>_REQUIRED_KEYS`. */
  keys?: { prefix: string; required?: boolean };
}

/**
 * Every API object, in the order the file lists them. Names are the SDK's (e.g. `FileObject`, not
 * `File`, which is a DOM global). A schema nested in another is emitted as a reference to its name
 * when it is the same zod object, so e.g. `Task.video` is `VideoInfo`.
 */
export const SDK_TYPES: NamedType[] = [
  // Errors
  { name: "ErrorBody", schema: ErrorBody, io: "output" },
  // Submit (docs/api.md §3)
  {
    name: "VideoCreateParams",
    schema: SubmitBody,
    io: "input",
    keys: { prefix: "VIDEO_CREATE" },
  },
  {
    name: "SubmitMetadata",
    schema: SubmitMetadata,
    io: "input",
    keys: { prefix: "SUBMIT_METADATA", required: false },
  },
  { name: "ContentItem", schema: ContentItem, io: "input" },
  { name: "ImageContent", schema: ImageContent, io: "input" },
  { name: "VideoContent", schema: VideoContent, io: "input" },
  { name: "AudioContent", schema: AudioContent, io: "input" },
  { name: "TaskCreated", schema: TaskCreated, io: "output", keys: { prefix: "TASK_CREATED" } },
  { name: "TaskEstimate", schema: TaskEstimate, io: "output" },
  // Task (§4)
  { name: "Task", schema: TaskObject, io: "output", keys: { prefix: "TASK" } },
  { name: "TaskMetadata", schema: TaskMetadataEcho, io: "output" },
  { name: "VideoInfo", schema: VideoInfo, io: "output" },
  { name: "Usage", schema: TaskUsage, io: "output" },
  { name: "TaskError", schema: TaskError, io: "output" },
  { name: "TaskList", schema: TaskList, io: "output" },
  // Files (§2)
  { name: "FileObject", schema: FileObject, io: "output", keys: { prefix: "FILE" } },
  { name: "FileList", schema: FileList, io: "output" },
  { name: "FileDeleted", schema: FileDeleted, io: "output" },
  // Models (§6)
  { name: "Model", schema: ModelObject, io: "output", keys: { prefix: "MODEL" } },
  { name: "ParameterSupport", schema: ParameterSupport, io: "output" },
  { name: "ModelList", schema: ModelList, io: "output" },
  // Webhooks (§5)
  { name: "WebhookSecret", schema: WebhookSecret, io: "output" },
  { name: "WebhookSecretRotateParams", schema: RotateSecretBody, io: "input" },
  { name: "WebhookDelivery", schema: DeliveryObject, io: "output" },
  { name: "WebhookAttempt", schema: DeliveryAttempt, io: "output" },
  { name: "WebhookDeliveryList", schema: DeliveryList, io: "output" },
  // OpenAI's Videos API
  { name: "OpenAiVideo", schema: OpenAiVideo, io: "output" },
  { name: "OpenAiVideoList", schema: OpenAiVideoList, io: "output" },
  { name: "OpenAiVideoDeleted", schema: OpenAiVideoDeleted, io: "output" },
  { name: "OpenAiVideoCreateParams", schema: VideoCreateBody, io: "input" },
  { name: "OpenAiVideoRemixParams", schema: VideoRemixBody, io: "input" },
  { name: "OpenAiVideoEditParams", schema: VideoEditBody, io: "input" },
  { name: "OpenAiVideoExtendParams", schema: VideoExtendBody, io: "input" },
  // Keys and accounts
  { name: "WhoAmI", schema: WhoAmI, io: "output" },
  { name: "ApiKey", schema: KeyObject, io: "output" },
  { name: "ApiKeyCreated", schema: KeyCreated, io: "output" },
  { name: "ApiKeyList", schema: KeyList, io: "output" },
  { name: "ApiKeyCreateParams", schema: CreateKeyBody, io: "input" },
  { name: "Account", schema: AccountObject, io: "output" },
  { name: "AccountList", schema: AccountList, io: "output" },
  { name: "AccountUpdateParams", schema: UpdateAccountBody, io: "input" },
  // Channels
  { name: "Channel", schema: ChannelObject, io: "output" },
  { name: "ChannelList", schema: ChannelList, io: "output" },
  { name: "ChannelParams", schema: ChannelBody, io: "input" },
  { name: "ChannelTestResult", schema: ChannelTestResult, io: "output" },
  // Models as data
  { name: "ModelDeclaration", schema: ModelDeclarationSchema, io: "output" },
  { name: "ModelDeclarationParams", schema: ModelPutBody, io: "input" },
  { name: "ModelDeclarationPatch", schema: ModelPatchBody, io: "input" },
  { name: "ModelEntry", schema: ModelEntryObject, io: "output" },
  { name: "ModelEntryList", schema: ModelEntryList, io: "output" },
  { name: "ModelVersionList", schema: ModelVersionList, io: "output" },
  // Billing
  { name: "Balance", schema: BalanceObject, io: "output" },
  { name: "BalanceParams", schema: AccountQuery, io: "input" },
  { name: "UsageReport", schema: UsageReport, io: "output" },
  { name: "UsageRow", schema: UsageRowObject, io: "output" },
  { name: "UsageTotals", schema: UsageTotals, io: "output" },
  { name: "UsageParams", schema: UsageQuery, io: "input" },
  { name: "LedgerEntry", schema: LedgerEntry, io: "output" },
  { name: "LedgerList", schema: LedgerList, io: "output" },
  { name: "LedgerResult", schema: LedgerResult, io: "output" },
  { name: "LedgerAmountParams", schema: AmountBody, io: "input" },
  { name: "Price", schema: PriceObject, io: "output" },
  { name: "PriceHistory", schema: PriceHistory, io: "output" },
  { name: "ModelPrice", schema: ModelPrice, io: "output" },
  { name: "ModelPrices", schema: ModelPrices, io: "output" },
  { name: "PriceParams", schema: PriceBody, io: "input" },
  { name: "Limits", schema: LimitsObject, io: "output" },
  { name: "LimitsParams", schema: LimitsBody, io: "input" },
];

/**
 * String enumerations with a name. zod enums are re-created wherever a field uses one (each
 * `.describe()` is a new schema), so these are matched by value set: any enum in the schemas
 * with exactly these values is emitted as the name.
 */
export const SDK_ENUMS: NamedEnum[] = [
  { name: "TaskStatus", values: TaskStatus.options, description: TaskStatus.description },
  { name: "Ratio", values: RATIOS },
  { name: "Resolution", values: RESOLUTIONS },
  {
    name: "Fit",
    values: FITS,
    description: "How a first frame is conformed to an asked ratio (`metadata.fit`).",
  },
  { name: "GenerationMode", values: MODES },
  { name: "ImageRole", values: ImageRole.options },
  { name: "AudioPolicy", values: AUDIO_POLICIES },
  { name: "ErrorType", values: ErrorType.options, description: ErrorType.description },
  { name: "BillingMode", values: BillingModeSchema.options, description: BillingModeSchema.description },
  { name: "WebhookDeliveryStatus", values: DeliveryStatus.options },
  { name: "OpenAiVideoStatus", values: VideoStatus.options },
];

/** One JSON Schema per named type, nested named types as `$ref`s to their names. */
function jsonSchemas(types: NamedType[], io: "input" | "output"): Record<string, Schema> {
  const registry = z.registry<{ id: string }>();
  for (const t of types) if (t.io === io) registry.add(t.schema, { id: t.name });
  const out = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
    cycles: "throw",
    uri: (id) => `#/${id}`,
  }) as { schemas: Record<string, Schema> };
  return out.schemas;
}

/** The generated module's text, before formatting. */
export function emitSdkTypes(types: NamedType[] = SDK_TYPES, enums: NamedEnum[] = SDK_ENUMS): string {
  const names = new Set<string>();
  for (const { name } of [...types, ...enums]) {
    if (names.has(name)) throw new Error(`two generated types are named ${name}`);
    names.add(name);
  }
  const schemas = { ...jsonSchemas(types, "output"), ...jsonSchemas(types, "input") };
  const out: string[] = [
    "// Generated by packages/server/scripts/generate-sdk-types.ts from the server's zod schemas.",
    `// Do not edit: change the schemas and run \`${GENERATE_COMMAND}\`.`,
    "",
  ];
  for (const e of enums) {
    if (e.description) out.push(docComment(e.description, ""));
    out.push(`export type ${e.name} = ${unionOf(e.values.map(literal))};`, "");
  }
  for (const t of types) {
    const schema = schemas[t.name];
    if (!schema) throw new Error(`no JSON Schema for ${t.name}`);
    const emitter = new Emitter(enums, t.name);
    if (schema.description) out.push(docComment(schema.description, ""));
    const isObject = schema.type === "object" && schema.properties && !schema.anyOf && !schema.oneOf;
    if (isObject) out.push(`export interface ${t.name} ${emitter.objectType(schema, "", "")}`);
    else out.push(`export type ${t.name} = ${emitter.type(schema, "", "")};`);
    out.push("");
    if (t.keys) {
      const keys = Object.keys(schema.properties ?? {});
      if (keys.length === 0) throw new Error(`${t.name} has no properties to list`);
      const type = `readonly (keyof ${t.name} & string)[]`;
      out.push(`export const ${t.keys.prefix}_KEYS: ${type} = ${JSON.stringify(keys)};`);
      if (t.keys.required !== false) {
        const required = keys.filter((k) => schema.required?.includes(k));
        out.push(`export const ${t.keys.prefix}_REQUIRED_KEYS: ${type} = ${JSON.stringify(required)};`);
      }
      out.push("");
    }
  }
  return out.join("\n");
}

/** Format as `biome check` expects (the repository's biome.json), so the file passes lint as written. */
export function formatTypeScript(source: string, path = OUTPUT_PATH): string {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  const result = spawnSync(
    process.execPath,
    [biome, "format", `--stdin-file-path=${relative(REPO_ROOT, path)}`],
    {
      cwd: REPO_ROOT,
      input: source,
      encoding: "utf8",
    },
  );
  if (result.status !== 0 || !result.stdout) {
    throw new Error(`biome format failed (${result.status}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}

/** The file's expected content. */
export function generateSdkTypes(): string {
  return formatTypeScript(emitSdkTypes());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = generateSdkTypes();
  let current: string | undefined;
  try {
    current = readFileSync(OUTPUT_PATH, "utf8");
  } catch {}
  if (current === text) {
    console.log(`${relative(process.cwd(), OUTPUT_PATH)} is up to date`);
  } else {
    writeFileSync(OUTPUT_PATH, text);
    console.log(`wrote ${relative(process.cwd(), OUTPUT_PATH)} (${text.split("\n").length} lines)`);
  }
}
