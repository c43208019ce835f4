import { basename } from "node:path";
import type { FileObject } from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, EXIT, type Io, isoTime, subcommand, UsageError } from "./common.ts";
import { type Columns, LIST_OPTIONS, listLimit, printList } from "./lists.ts";

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

const FILE_COLUMNS: Columns<FileObject> = {
  FILE: (f) => f.id,
  NAME: (f) => f.filename,
  TYPE: (f) => f.content_type,
  SIZE: (f) => String(f.bytes),
  PIXELS: (f) => (f.width && f.height ? `${f.width}x${f.height}` : "-"),
  EXPIRES: (f) => isoTime(f.expires_at),
};

export async function files(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, FILES_HELP, LIST_OPTIONS, ["--help", "-h", "help"]);
  if (typeof command === "number") return command;
  const { sub, values, positionals, client } = command;
  switch (sub) {
    case "upload": {
      if (!positionals.length) throw new UsageError("files upload needs at least one PATH");
      const api = client().files;
      for (const path of positionals) {
        const file = await api.upload(path);
        if (values.json) io.out(JSON.stringify(file));
        else
          io.out(`${file.id}  ${file.url}  (${basename(path)}, ${file.content_type}, ${file.bytes} bytes)`);
      }
      return EXIT.ok;
    }
    case "list":
    case "ls": {
      if (positionals.length) throw new UsageError("files list takes no arguments");
      const { limit, pageSize } = listLimit(values);
      const list = await client().files.list({ limit: pageSize }).toArray(limit);
      return printList(io, list, values.json, FILE_COLUMNS, "no files");
    }
    case "rm":
    case "delete": {
      if (!positionals.length) throw new UsageError("files rm needs at least one FILE_ID");
      const api = client().files;
      for (const id of positionals) {
        const deleted = await api.delete(id);
        io.out(values.json ? JSON.stringify(deleted) : `deleted ${deleted.id}`);
      }
      return EXIT.ok;
    }
    default:
      throw new UsageError(`unknown files command "${sub}" (upload, list, rm)`);
  }
}
