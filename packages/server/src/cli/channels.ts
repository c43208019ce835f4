import type { Channel } from "@vidrelay/sdk";
import {
  CLIENT_OPTIONS,
  clientFrom,
  EXIT,
  type Io,
  intFlag,
  isoTime,
  parse,
  table,
  UsageError,
} from "./common.ts";

export const CHANNELS_HELP = `vidrelay channels — upstream provider channels (admin key)

Usage:
  vidrelay channels add --provider P --base-url URL --api-key KEY --models CATALOG=UPSTREAM[,…] [options]
  vidrelay channels list
  vidrelay channels update CHANNEL_ID [options]
  vidrelay channels disable|enable CHANNEL_ID
  vidrelay channels test CHANNEL_ID

Options for add/update:
  --provider NAME        ark (more providers: see GET /v1/admin/channels errors for the list)
  --base-url URL         the provider's API base, e.g. https://ark.cn-beijing.volces.com/api/v3
  --api-key KEY          the provider key (stored encrypted, never shown again)
  --models MAP           catalog model = upstream model id; repeat or comma-separate
  --name NAME            a label
  --priority N           higher tiers are tried first (default 0)
  --weight N             share within a tier (default 1)
  --max-concurrent N     tasks in flight on this channel (default 10)
  --disabled             add it switched off

The gateway and your admin key come from VIDRELAY_BASE_URL and VIDRELAY_API_KEY. On add/update,
--base-url and --api-key are the provider's; use --gateway-url / --gateway-key for the gateway's.
On the other commands, --base-url / --api-key are the gateway's as usual.

Example:
  vidrelay channels add --provider ark --base-url http://127.0.0.1:9001/api/v3 --api-key sk-ark-… \\
    --models seedance-1-5-pro-with-audio=doubao-seedance-1-5-pro-251215
`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  provider: { type: "string" },
  models: { type: "string", multiple: true },
  name: { type: "string" },
  priority: { type: "string" },
  weight: { type: "string" },
  "max-concurrent": { type: "string" },
  disabled: { type: "boolean" },
} as const;

/**
 * The gateway's own --base-url/--api-key flags name the gateway connection, so the channel's
 * upstream URL and key are taken from the same flags only on `add`/`update`, where the
 * connection comes from VIDRELAY_BASE_URL / VIDRELAY_API_KEY.
 */
function splitFlags(args: string[]): { connection: string[]; channel: string[] } {
  const connection: string[] = [];
  const channel: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--gateway-url") connection.push("--base-url", args[++i] ?? "");
    else if (arg === "--gateway-key") connection.push("--api-key", args[++i] ?? "");
    else channel.push(arg);
  }
  return { connection, channel };
}

function parseModels(values: string[] | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  const models: Record<string, string> = {};
  for (const entry of values.flatMap((v) => v.split(","))) {
    const [catalog, upstream] = entry.split("=").map((s) => s.trim());
    if (!catalog || !upstream) throw new UsageError(`--models takes CATALOG=UPSTREAM pairs, got "${entry}"`);
    models[catalog] = upstream;
  }
  return models;
}

export async function channels(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (!sub || sub === "--help" || sub === "-h") {
    io.out(CHANNELS_HELP);
    return sub ? EXIT.ok : EXIT.usage;
  }
  const writes = sub === "add" || sub === "update";
  const { connection, channel } = writes ? splitFlags(rest) : { connection: rest, channel: [] as string[] };
  // On add/update, --base-url/--api-key describe the upstream; the gateway comes from env or --gateway-*.
  const upstream = writes ? parse(channel, OPTIONS) : undefined;
  const conn = parse(writes ? connection : rest, { ...CLIENT_OPTIONS });
  if (conn.values.help || upstream?.values.help) {
    io.out(CHANNELS_HELP);
    return EXIT.ok;
  }
  const client = clientFrom(conn.values);
  const json = Boolean(conn.values.json || upstream?.values.json);
  const show = (c: Channel) => {
    if (json) io.out(JSON.stringify(c));
    else
      io.out(
        `${c.id}  ${c.name}  ${c.provider}  ${c.enabled ? "enabled" : "disabled"}  priority ${c.priority}  weight ${c.weight}  ` +
          `max ${c.max_concurrent}  key ${c.api_key_hint}\n  ${c.base_url}\n  ${Object.entries(c.models)
            .map(([k, v]) => `${k} → ${v}`)
            .join("\n  ")}`,
      );
  };
  const body = () => {
    const v = upstream!.values;
    return {
      provider: v.provider,
      base_url: v["base-url"],
      api_key: v["api-key"],
      models: parseModels(v.models as string[] | undefined),
      name: v.name,
      priority: intFlag("--priority", v.priority as string | undefined),
      weight: intFlag("--weight", v.weight as string | undefined, 1),
      max_concurrent: intFlag("--max-concurrent", v["max-concurrent"] as string | undefined, 1),
      enabled: v.disabled ? false : undefined,
    };
  };
  const id = () => {
    const positional = (writes ? upstream!.positionals : conn.positionals)[0];
    if (!positional)
      throw new UsageError(`channels ${sub} needs a CHANNEL_ID (see 'vidrelay channels list')`);
    return positional;
  };
  switch (sub) {
    case "add": {
      const b = body();
      for (const [flag, value] of [
        ["--provider", b.provider],
        ["--base-url", b.base_url],
        ["--api-key", b.api_key],
        ["--models", b.models],
      ] as const) {
        if (!value) throw new UsageError(`channels add needs ${flag}`);
      }
      show(await client.admin.channels.create(b));
      return EXIT.ok;
    }
    case "update":
      show(await client.admin.channels.update(id(), body()));
      return EXIT.ok;
    case "disable":
    case "enable":
      show(await client.admin.channels[sub](id()));
      return EXIT.ok;
    case "test": {
      const result = await client.admin.channels.test(id());
      if (json) io.out(JSON.stringify(result));
      else if (result.ok) io.out(`ok: the provider accepted the channel's key (${result.latency_ms} ms)`);
      else io.err(`vidrelay: channel test failed: ${result.error}`);
      return result.ok ? EXIT.ok : EXIT.failed;
    }
    case "list": {
      const data = await client.admin.channels.list();
      if (json) {
        for (const c of data) io.out(JSON.stringify(c));
        return EXIT.ok;
      }
      io.out(
        table(
          ["ID", "NAME", "PROVIDER", "STATE", "PRIO", "WEIGHT", "IN FLIGHT", "MODELS", "CREATED"],
          data.map((c) => [
            c.id,
            c.name,
            c.provider,
            c.enabled ? "enabled" : "disabled",
            String(c.priority),
            String(c.weight),
            `${c.in_flight}/${c.max_concurrent}`,
            Object.keys(c.models).join(","),
            isoTime(c.created_at),
          ]),
        ),
      );
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown channels command "${sub}"\n\n${CHANNELS_HELP}`);
  }
}
