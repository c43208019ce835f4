/** `vidrelay models add|update|disable|enable|list|versions`: models as data, with an admin key. */
import { readFile } from "node:fs/promises";
import type { ModelDeclarationParams, ModelDeclarationPatch, ModelEntry } from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, EXIT, type Io, isoTime, subcommand, table, UsageError } from "./common.ts";

export const MODEL_ADMIN_SUBCOMMANDS = ["add", "update", "disable", "enable", "list", "versions"] as const;

export const MODEL_ADMIN_HELP = `vidrelay models add|update|disable|enable|list|versions — models as data (admin key)

Usage:
  vidrelay models add FILE.json [--upstream CHANNEL_ID=UPSTREAM_MODEL]… [--disabled] [--note TEXT]
  vidrelay models update MODEL_ID [FILE.json] [--upstream CHANNEL_ID=UPSTREAM_MODEL]… [--note TEXT]
  vidrelay models disable|enable MODEL_ID [--note TEXT]
  vidrelay models list                    every model the gateway knows, disabled ones included
  vidrelay models versions MODEL_ID       the versions the operator wrote, newest first

FILE.json is a model declaration (docs/models.md): the shape \`vidrelay models list --json\` shows
under "declaration", e.g. {"id": "acme-short", "name": …, "modes": ["text"], "seconds": {…}, …,
"pricing": {"per_second": {"720p": "0.07"}}}. \`-\` reads it from standard input. \`update\` sends
only the fields in FILE.json; each replaces the current one. Every change is a new version and
reaches every process of the deployment within about a second.

${CLIENT_OPTIONS_HELP}

Examples:
  vidrelay models add acme-short.json --upstream ch_ark=doubao-seedance-1-5-pro-251215
  vidrelay models disable acme-short --note "provider retired it"
`;

const OPTIONS = {
  upstream: { type: "string", multiple: true },
  disabled: { type: "boolean" },
  note: { type: "string" },
} as const;

export async function modelAdmin(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, MODEL_ADMIN_HELP, OPTIONS);
  if (typeof command === "number") return command;
  const { sub, values, positionals } = command;
  const client = command.client();
  const models = client.admin.models;
  const note = values.note as string | undefined;
  const upstream = upstreamFlags(values.upstream as string[] | undefined);
  const show = (entry: ModelEntry) => {
    if (values.json) io.out(JSON.stringify(entry));
    else
      io.out(
        `${entry.id}  version ${entry.version}  ${entry.enabled ? "enabled" : "disabled"}` +
          `${entry.builtin ? "  built-in" : ""}\n  ${entry.declaration.name}` +
          Object.entries(entry.upstream_models)
            .map(([channel, id]) => `\n  ${channel} → ${id}`)
            .join(""),
      );
    return EXIT.ok;
  };
  const modelId = () => {
    const id = positionals[0];
    if (!id) throw new UsageError(`models ${sub} takes a MODEL_ID`);
    return id;
  };

  switch (sub) {
    case "add": {
      const declaration = (await readDeclaration(positionals[0], io)) as unknown as ModelDeclarationParams;
      const id = declaration.id;
      if (typeof id !== "string") throw new UsageError('the declaration needs an "id"');
      const exists = (await models.list()).some((m) => m.id === id);
      if (exists)
        throw new UsageError(`${id} exists; change it with: vidrelay models update ${id} FILE.json`);
      return show(
        await models.put(id, {
          ...declaration,
          ...(upstream ? { upstream_models: upstream } : {}),
          ...(values.disabled ? { enabled: false } : {}),
          ...(note ? { note } : {}),
        }),
      );
    }
    case "update": {
      const id = modelId();
      const fields = positionals[1]
        ? ((await readDeclaration(positionals[1], io)) as ModelDeclarationPatch)
        : {};
      const patch = {
        ...fields,
        ...(upstream ? { upstream_models: upstream } : {}),
        ...(note ? { note } : {}),
      };
      if (Object.keys(patch).length === 0)
        throw new UsageError("models update needs FILE.json or --upstream");
      return show(await models.update(id, patch));
    }
    case "disable":
      return show(await models.disable(modelId(), note ? { note } : {}));
    case "enable":
      return show(await models.enable(modelId(), note ? { note } : {}));
    case "list": {
      const list = await models.list();
      if (values.json) io.out(JSON.stringify(list));
      else
        io.out(
          table(
            ["MODEL", "STATE", "VERSION", "SOURCE", "UPSTREAM"],
            list.map((m) => [
              m.id,
              m.enabled ? "enabled" : "disabled",
              String(m.version),
              m.builtin ? "built-in" : "operator",
              Object.entries(m.upstream_models)
                .map(([c, u]) => `${c}=${u}`)
                .join(",") || "-",
            ]),
          ),
        );
      return EXIT.ok;
    }
    case "versions": {
      const versions = await models.versions(modelId());
      if (values.json) io.out(JSON.stringify(versions));
      else
        io.out(
          table(
            ["VERSION", "STATE", "WHEN", "BY", "NOTE"],
            versions.map((v) => [
              String(v.version),
              v.enabled ? "enabled" : "disabled",
              isoTime(v.created_at),
              v.created_by ?? "-",
              v.note ?? "",
            ]),
          ),
        );
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown subcommand "${sub}"; see vidrelay models --help`);
  }
}

function upstreamFlags(values: string[] | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  const out: Record<string, string> = {};
  for (const entry of values) {
    const at = entry.indexOf("=");
    if (at <= 0 || at === entry.length - 1) {
      throw new UsageError(`--upstream takes CHANNEL_ID=UPSTREAM_MODEL, got "${entry}"`);
    }
    out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}

async function readDeclaration(path: string | undefined, io: Io): Promise<Record<string, unknown>> {
  if (!path) throw new UsageError("give the declaration's FILE.json (or - for standard input)");
  let text: string;
  try {
    text = path === "-" ? await readStdin() : await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("not a JSON object");
    return value as Record<string, unknown>;
  } catch (error) {
    io.err(`${path} is not a JSON object: ${(error as Error).message}`);
    throw new UsageError(`${path} must hold one JSON object (a model declaration)`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
