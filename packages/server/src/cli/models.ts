import type { Model } from "@vidrelay/sdk";
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  EXIT,
  type Io,
  parse,
  printList,
  UsageError,
} from "./common.ts";

export const MODELS_HELP = `vidrelay models — the models this key may use, with what each accepts

Usage:
  vidrelay models [MODEL_ID]

${CLIENT_OPTIONS_HELP}

With a MODEL_ID, prints that model's full capabilities as JSON.

Examples:
  vidrelay models
  vidrelay models doubao-seedance-2-0-720p
`;

export async function models(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, CLIENT_OPTIONS);
  if (values.help) {
    io.out(MODELS_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 1) throw new UsageError("models takes at most one MODEL_ID");
  const client = clientFrom(values);
  if (positionals[0]) {
    io.out(JSON.stringify(await client.models.get(positionals[0]), null, 2));
    return EXIT.ok;
  }
  const list = await client.models.list();
  return printList(
    io,
    list,
    values.json,
    ["MODEL", "MODES", "SECONDS", "RESOLUTIONS", "AUDIO", "REFERENCES"],
    (m) => [
      m.id,
      m.modes.join(","),
      `${m.seconds.min}-${m.seconds.max} (${m.seconds.default})`,
      m.resolutions.values.join(","),
      m.audio.mode,
      references(m),
    ],
  );
}

function references(m: Model): string {
  const r = m.references;
  if (!m.modes.includes("reference")) return "-";
  return `${r.images} img, ${r.videos} vid, ${r.audios} aud`;
}
