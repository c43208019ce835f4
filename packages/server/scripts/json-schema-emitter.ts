/**
 * JSON Schema (as z.toJSONSchema writes it) → TypeScript declarations, for the SDK's generated
 * types (generate-sdk-types.ts). It handles the keywords the server's schemas use and throws on
 * any other, so a schema it cannot express fails the generation instead of being guessed.
 */

export interface NamedEnum {
  name: string;
  values: readonly string[];
  description?: string;
}

export interface Schema {
  $ref?: string;
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  description?: string;
  [keyword: string]: unknown;
}

/** Keywords that only constrain values (bounds, formats) or document them: no effect on the type. */
const IGNORED = new Set([
  "$schema",
  "$id",
  "title",
  "description",
  "examples",
  "default",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "pattern",
  "format",
  "propertyNames",
  "readOnly",
]);
const HANDLED = new Set([
  "$ref",
  "type",
  "const",
  "enum",
  "anyOf",
  "oneOf",
  "properties",
  "required",
  "additionalProperties",
  "items",
]);

export class Emitter {
  constructor(
    private readonly enums: NamedEnum[],
    /** Where the schema being emitted is, for error messages. */
    private readonly where: string,
  ) {}

  type(schema: Schema, path: string, indent: string): string {
    for (const keyword of Object.keys(schema)) {
      if (!HANDLED.has(keyword) && !IGNORED.has(keyword)) {
        throw new Error(
          `${this.where}${path}: JSON Schema keyword "${keyword}" is not supported by the emitter`,
        );
      }
    }
    if (schema.$ref !== undefined) return schema.$ref.slice(schema.$ref.lastIndexOf("/") + 1);
    if (schema.const !== undefined) return literal(schema.const);
    if (schema.enum !== undefined) return this.enumType(schema.enum);
    const union = schema.anyOf ?? schema.oneOf;
    if (union) return unionOf(union.map((member, i) => this.type(member, `${path}|${i}`, indent)));
    if (Array.isArray(schema.type)) {
      return unionOf(schema.type.map((t) => this.type({ ...schema, type: t }, path, indent)));
    }
    switch (schema.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "null":
        return "null";
      case "array": {
        const item = schema.items ? this.type(schema.items, `${path}[]`, indent) : "unknown";
        return /^[\w.]+$/.test(item) ? `${item}[]` : `Array<${item}>`;
      }
      case "object":
        return this.objectType(schema, path, indent);
      case undefined:
        // `{}`: any JSON value (z.unknown(), or what the converter cannot represent).
        return "unknown";
      default:
        throw new Error(`${this.where}${path}: unsupported type ${JSON.stringify(schema.type)}`);
    }
  }

  private enumType(values: unknown[]): string {
    const named = this.enums.find(
      (e) => e.values.length === values.length && values.every((v) => e.values.includes(v as string)),
    );
    return named ? named.name : unionOf(values.map(literal));
  }

  /** `{ a: T; b?: U }` on several lines (each field with its description), or a Record. */
  objectType(schema: Schema, path: string, indent: string): string {
    const properties = Object.entries(schema.properties ?? {});
    const extra = schema.additionalProperties;
    const extraType =
      extra === undefined || extra === false
        ? undefined
        : extra === true
          ? "unknown"
          : this.type(extra, `${path}.*`, `${indent}  `);
    if (properties.length === 0) return extraType ? `Record<string, ${extraType}>` : "Record<string, never>";
    const required = new Set(schema.required ?? []);
    const inner = `${indent}  `;
    const lines: string[] = [];
    for (const [name, property] of properties) {
      const text = describe(property);
      if (text) lines.push(docComment(text, inner));
      const optional = required.has(name) ? "" : "?";
      lines.push(
        `${inner}${propertyName(name)}${optional}: ${this.type(property, `${path}.${name}`, inner)};`,
      );
    }
    // Loose objects (the server keeps unknown fields): say so in the type.
    if (extraType) lines.push(`${inner}[key: string]: ${extraType};`);
    return `{\n${lines.join("\n")}\n${indent}}`;
  }
}

/** A property's description, or that of the one non-null member of a nullable union. */
function describe(schema: Schema): string | undefined {
  if (schema.description) return schema.description;
  const members = (schema.anyOf ?? schema.oneOf ?? []).filter((m) => m.type !== "null");
  return members.length === 1 ? members[0]!.description : undefined;
}

export function literal(value: unknown): string {
  if (
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean" ||
    value === null
  ) {
    return JSON.stringify(value);
  }
  throw new Error(`unsupported literal ${JSON.stringify(value)}`);
}

export function unionOf(types: string[]): string {
  const unique = [...new Set(types)];
  if (unique.includes("unknown")) return "unknown";
  return unique.join(" | ");
}

const propertyName = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name));

/** Comment lines stay within the formatter's line width (biome wraps code, not comments). */
const COMMENT_WIDTH = 110;

export function docComment(text: string, indent: string): string {
  const safe = text.replaceAll("*/", "*\\/");
  if (`${indent}/** ${safe} */`.length <= COMMENT_WIDTH && !safe.includes("\n"))
    return `${indent}/** ${safe} */`;
  const width = COMMENT_WIDTH - indent.length - 3;
  const lines: string[] = [];
  for (const paragraph of safe.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return [`${indent}/**`, ...lines.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`].join("\n");
}
