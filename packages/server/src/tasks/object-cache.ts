import { createHash } from "node:crypto";
import type { KyselyPlugin, OperationNode, RootOperationNode } from "kysely";
import type { Owner } from "../domain/owner.ts";
import type { TaskPresenter } from "./presenter.ts";
import type { TaskObject } from "./schemas.ts";
import type { TaskService } from "./service.ts";

/** A task object as GET answers it, with the entity tag of its JSON. */
export interface TaskObjectWithTag {
  object: TaskObject;
  /** A strong `ETag` (quoted): a hash of the object's JSON, the same bytes GET and webhooks send. */
  etag: string;
}

interface Entry extends TaskObjectWithTag {
  owner: Owner;
}

/** The tables a task object is made from: the task row and its billing hold (`usage`). */
const SOURCES: Record<string, string> = { tasks: "id", billing_holds: "task_id" };

/**
 * Task objects kept in memory between changes, so polling a task that has not changed costs no
 * store read. Correctness rests on two signals, checked before every use:
 *
 * - Writes by this process: `writeObserver()` is a Kysely plugin on the store handle every
 *   repository uses. A write to `tasks` or `billing_holds` that names its task drops that entry; one
 *   that does not (a bulk update, raw SQL) drops them all. It runs when the statement is compiled,
 *   before it executes, and bumps an epoch: a read that began before a write may not fill the
 *   cache afterwards, so a value read just before a change is never kept.
 * - Commits by other processes sharing the store (`externalChanges`: SQLite's `data_version`,
 *   which moves on any other connection's commit): any change empties the cache.
 *
 * A store without such a signal (Postgres: many processes, no cheap per-read check) gets no
 * cache; GET still has its ETag and 304.
 */
export class TaskObjectCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;
  private externalToken: number;

  constructor(
    private readonly externalChanges: () => number,
    private readonly maxEntries = 10_000,
  ) {
    this.externalToken = externalChanges();
  }

  /** Call before reading: returns the ticket `fill` needs, after dropping anything others changed. */
  begin(): number {
    const token = this.externalChanges();
    if (token !== this.externalToken) {
      this.externalToken = token;
      this.clear();
    }
    return this.epoch;
  }

  get(owner: Owner, taskId: string): TaskObjectWithTag | undefined {
    const entry = this.entries.get(taskId);
    return entry && entry.owner.accountId === owner.accountId && entry.owner.testMode === owner.testMode
      ? entry
      : undefined;
  }

  /** Keep what a read that began with `ticket` found, unless a write has happened since. */
  fill(ticket: number, owner: Owner, taskId: string, value: TaskObjectWithTag): void {
    if (ticket !== this.epoch) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(taskId, { ...value, owner });
  }

  invalidate(taskId: string): void {
    this.epoch++;
    this.entries.delete(taskId);
  }

  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The plugin that reports this process's writes (see the class comment). */
  writeObserver(): KyselyPlugin {
    return {
      transformQuery: ({ node }) => {
        this.observe(node);
        return node;
      },
      transformResult: async ({ result }) => result,
    };
  }

  private observe(node: RootOperationNode): void {
    switch (node.kind) {
      case "UpdateQueryNode":
      case "DeleteQueryNode": {
        const table = tableOf(node.kind === "UpdateQueryNode" ? node.table : node.from.froms[0]);
        if (!(table in SOURCES)) return;
        const id = equalityValue(node.where?.where, SOURCES[table]!);
        if (typeof id === "string") this.invalidate(id);
        else this.clear();
        return;
      }
      case "InsertQueryNode":
        // A new row has no cached object yet, but a read in flight must not fill around it.
        if (node.into && tableOf(node.into) in SOURCES) this.epoch++;
        return;
      case "RawNode":
        if (
          /\b(update|insert|delete|replace)\b[\s\S]*\b(tasks|billing_holds)\b/i.test(
            node.sqlFragments.join(" "),
          )
        ) {
          this.clear();
        }
        return;
      default:
        return;
    }
  }
}

/** `"tasks"` for a TableNode (or an alias of one); "" for anything else. */
function tableOf(node: OperationNode | undefined): string {
  if (!node) return "";
  if (node.kind === "AliasNode") return tableOf((node as unknown as { node: OperationNode }).node);
  if (node.kind !== "TableNode") return "";
  return (node as unknown as { table: { identifier: { name: string } } }).table.identifier.name;
}

/** The value of a top-level `column = value` in a WHERE (through ANDs), if there is one. */
function equalityValue(node: OperationNode | undefined, column: string): unknown {
  if (!node) return undefined;
  if (node.kind === "AndNode") {
    const and = node as unknown as { left: OperationNode; right: OperationNode };
    return equalityValue(and.left, column) ?? equalityValue(and.right, column);
  }
  if (node.kind === "ParensNode") {
    return equalityValue((node as unknown as { node: OperationNode }).node, column);
  }
  if (node.kind !== "BinaryOperationNode") return undefined;
  const op = node as unknown as {
    leftOperand: { kind: string; column?: { kind: string; column?: { name: string } } };
    operator: { operator?: string };
    rightOperand: { kind: string; value?: unknown };
  };
  if (op.operator.operator !== "=" || op.rightOperand.kind !== "ValueNode") return undefined;
  const left = op.leftOperand;
  if (left.kind !== "ReferenceNode" || left.column?.kind !== "ColumnNode") return undefined;
  return left.column.column?.name === column ? op.rightOperand.value : undefined;
}

/** GET's read of a task object: from the cache when it holds, else the store (then cached). */
export class TaskObjectReader {
  constructor(
    private readonly tasks: Pick<TaskService, "get">,
    private readonly presenter: Pick<TaskPresenter, "present">,
    private readonly cache?: TaskObjectCache,
  ) {}

  async read(owner: Owner, taskId: string): Promise<TaskObjectWithTag> {
    const ticket = this.cache?.begin();
    const cached = this.cache?.get(owner, taskId);
    if (cached) return cached;
    const object = await this.presenter.present(await this.tasks.get(owner, taskId));
    const value = { object, etag: entityTag(object) };
    if (ticket !== undefined) this.cache!.fill(ticket, owner, taskId, value);
    return value;
  }
}

export function entityTag(object: TaskObject): string {
  return `"${createHash("sha1").update(JSON.stringify(object)).digest("base64url")}"`;
}

/** Whether an `If-None-Match` header names `etag` (or is `*`); weak tags compare by value. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const tag = part.trim();
    if (tag === "*" || tag === etag || tag === `W/${etag}`) return true;
  }
  return false;
}
