import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  EXIT,
  type Io,
  intFlag,
  isoTime,
  subcommand,
  table,
  UsageError,
} from "./common.ts";

export const WEBHOOKS_HELP = `vidrelay webhooks — the account's signing secret and a task's deliveries

Usage:
  vidrelay webhooks secret [--rotate [--grace-seconds N]]
  vidrelay webhooks deliveries TASK_ID
  vidrelay webhooks replay TASK_ID DELIVERY_ID

Webhooks are signed the Standard Webhooks way with this secret (whsec_…). After --rotate, both the
old and the new signature are sent for the grace period (default 24 h).

${CLIENT_OPTIONS_HELP}

Examples:
  vidrelay webhooks secret
  vidrelay webhooks secret --rotate --grace-seconds 3600
  vidrelay webhooks deliveries task_AbC…
`;

interface Delivery {
  id: string;
  url: string;
  status: string;
  attempts: Array<{
    attempted_at: number;
    status_code: number | null;
    latency_ms: number;
    error: string | null;
  }>;
}

export async function webhooks(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, WEBHOOKS_HELP, {
    ...CLIENT_OPTIONS,
    rotate: { type: "boolean" },
    "grace-seconds": { type: "string" },
  });
  if (typeof command === "number") return command;
  const { sub, values, positionals } = command;
  const client = clientFrom(values);
  switch (sub) {
    case "secret": {
      const grace = intFlag("--grace-seconds", values["grace-seconds"] as string | undefined, 0);
      const secret = values.rotate
        ? await client.core.request<{ secret: string; previous_secret_expires_at: number | null }>({
            method: "POST",
            path: "/v1/webhook-secret/rotate",
            json: grace === undefined ? {} : { grace_seconds: grace },
          })
        : await client.core.request<{ secret: string; previous_secret_expires_at: number | null }>({
            method: "GET",
            path: "/v1/webhook-secret",
          });
      if (values.json) io.out(JSON.stringify(secret));
      else {
        io.out(secret.secret);
        if (secret.previous_secret_expires_at) {
          io.err(
            `the previous secret is also signed with until ${isoTime(secret.previous_secret_expires_at)}`,
          );
        }
      }
      return EXIT.ok;
    }
    case "deliveries": {
      const taskId = positionals[0];
      if (!taskId) throw new UsageError("webhooks deliveries needs a TASK_ID");
      const { data } = await client.core.request<{ data: Delivery[] }>({
        method: "GET",
        path: `/v1/video/generations/${taskId}/deliveries`,
      });
      if (values.json) {
        for (const d of data) io.out(JSON.stringify(d));
        return EXIT.ok;
      }
      io.out(
        table(
          ["DELIVERY", "STATUS", "ATTEMPTS", "LAST ANSWER", "URL"],
          data.map((d) => {
            const last = d.attempts.at(-1);
            return [
              d.id,
              d.status,
              String(d.attempts.length),
              last ? (last.status_code?.toString() ?? last.error ?? "-") : "-",
              d.url,
            ];
          }),
        ),
      );
      return EXIT.ok;
    }
    case "replay": {
      const [taskId, deliveryId] = positionals;
      if (!taskId || !deliveryId) throw new UsageError("webhooks replay needs TASK_ID and DELIVERY_ID");
      const d = await client.core.request<Delivery>({
        method: "POST",
        path: `/v1/video/generations/${taskId}/deliveries/${deliveryId}/replay`,
      });
      io.out(values.json ? JSON.stringify(d) : `${d.id} is ${d.status} again; it will be sent shortly`);
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown webhooks command "${sub}"\n\n${WEBHOOKS_HELP}`);
  }
}
