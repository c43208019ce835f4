import { basename } from "node:path";
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  EXIT,
  type Io,
  intFlag,
  isoTime,
  printList,
  subcommand,
  UsageError,
} from "./common.ts";

export const FILES_HELP = `vidrelay files — upload, list and delete reference media

Usage:
  vidrelay files upload PATH...      upload files; prints each file's id and URL
  vidrelay files list [--limit N | --all]
  vidrelay files rm FILE_ID...       delete files

Options:
  --limit N            show at most N files, newest first (list; default 20)
  --all                every unexpired file (list)

${CLIENT_OPTIONS_HELP}

An uploaded file's URL can be cited in metadata.content of a submit until it expires.

Examples:
  vidrelay files upload photo.jpg
  vidrelay files rm file_0123456789abcdefghijklmnop
`;

const OPTIONS = {
  ...CLIENT_OPTIONS,
  limit: { type: "string" },
  all: { type: "boolean" },
} as const;

export async function files(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, FILES_HELP, OPTIONS, ["--help", "-h", "help"]);
  if (typeof command === "number") return command;
  const { sub, values, positionals } = command;
  switch (sub) {
    case "upload": {
      if (!positionals.length) throw new UsageError("files upload needs at least one PATH");
      const client = clientFrom(values);
      for (const path of positionals) {
        const file = await client.files.upload(path);
        if (values.json) io.out(JSON.stringify(file));
        else
          io.out(`${file.id}  ${file.url}  (${basename(path)}, ${file.content_type}, ${file.bytes} bytes)`);
      }
      return EXIT.ok;
    }
    case "list":
    case "ls": {
      if (positionals.length) throw new UsageError("files list takes no arguments");
      const limit = values.all ? Number.POSITIVE_INFINITY : (intFlag("limit", values.limit, 1) ?? 20);
      const pageSize = Math.min(100, Number.isFinite(limit) ? limit : 100);
      const list = await clientFrom(values).files.list({ limit: pageSize }).toArray(limit);
      return printList(
        io,
        list,
        values.json,
        ["FILE", "NAME", "TYPE", "SIZE", "PIXELS", "EXPIRES"],
        (f) => [
          f.id,
          f.filename,
          f.content_type,
          String(f.bytes),
          f.width && f.height ? `${f.width}x${f.height}` : "-",
          isoTime(f.expires_at),
        ],
        "no files",
      );
    }
    case "rm":
    case "delete": {
      if (!positionals.length) throw new UsageError("files rm needs at least one FILE_ID");
      const client = clientFrom(values);
      for (const id of positionals) {
        const deleted = await client.files.delete(id);
        io.out(values.json ? JSON.stringify(deleted) : `deleted ${deleted.id}`);
      }
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown files command "${sub}" (upload, list, rm)`);
  }
}
