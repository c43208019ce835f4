import type { Model } from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, clientCommand, EXIT, type Io, UsageError } from "./common.ts";
import { type Columns, printList } from "./lists.ts";
import { MODEL_ADMIN_SUBCOMMANDS, modelAdmin } from "./model-admin.ts";

export const MODELS_HELP = `vidrelay models — the models this key may use, with what each accepts

Usage:
  vidrelay models [MODEL_ID]
  vidrelay models add|update|disable|enable|list|versions …   (admin key; vidrelay models add --help)

${CLIENT_OPTIONS_HELP}

With a MODEL_ID, prints that model's full capabilities as JSON.

Examples:
  vidrelay models
  vidrelay models doubao-seedance-2-0-720p
`;

export async function models(args: string[], io: Io): Promise<number> {
  if ((MODEL_ADMIN_SUBCOMMANDS as readonly string[]).includes(args[0] ?? "")) return modelAdmin(args, io);
  const command = clientCommand(args, io, MODELS_HELP);
  if (typeof command === "number") return command;
  const { values, positionals } = command;
  if (positionals.length > 1) throw new UsageError("models takes at most one MODEL_ID");
  const client = command.client();
  if (positionals[0]) {
    io.out(JSON.stringify(await client.models.get(positionals[0]), null, 2));
    return EXIT.ok;
  }
  const list = await client.models.list();
  return printList(io, list, values.json, MODEL_COLUMNS);
}

const MODEL_COLUMNS: Columns<Model> = {
  MODEL: (m) => m.id,
  MODES: (m) => m.modes.join(","),
  SECONDS: (m) => `${m.seconds.min}-${m.seconds.max} (${m.seconds.default})`,
  RESOLUTIONS: (m) => m.resolutions.values.join(","),
  AUDIO: (m) => m.audio.mode,
  REFERENCES: references,
};

function references(m: Model): string {
  const r = m.references;
  if (!m.modes.includes("reference")) return "-";
  return `${r.images} img, ${r.videos} vid, ${r.audios} aud`;
}
