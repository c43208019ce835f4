/**
 * Request and response bodies of the RelayDance v1 API and of vidrelay's administration API.
 *
 * Every API object's type is generated from the gateway's own zod schemas (the ones that validate
 * its routes and publish `/openapi.json`) into `generated/api-types.ts`, by
 * `npm run generate:sdk` at the repository's root; the server's test suite fails when that file
 * is stale, and when a `/v1` route answers with a shape that has no generated type. What is
 * written here by hand is only what no schema describes: the generic list page the paginator
 * works with, list query parameters, and run-time constants.
 */
import type {
  AccountList,
  ApiKeyList,
  ChannelList,
  FileList,
  LedgerList,
  ModelPrices,
  TaskList,
  TaskStatus,
  WebhookDeliveryList,
} from "./generated/api-types.ts";

export * from "./generated/api-types.ts";

export const TASK_STATUSES = [
  "submitted",
  "running",
  "succeeded",
  "failed",
] as const satisfies readonly TaskStatus[];
export const TERMINAL_STATUSES = ["succeeded", "failed"] as const satisfies readonly TaskStatus[];

// ---------------------------------------------------------------------------------------------
// Lists

/** One page of a cursor-paginated list (the shape of every generated `…List` but `ModelList`). */
export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  /** Pass as `after` for the next page; null or absent on the last. */
  next_cursor?: string | null;
}

export interface ListParams {
  /** Page size, 1..100 (server default 20). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  after?: string;
}

export interface TaskListParams extends ListParams {
  status?: TaskStatus;
  model?: string;
}

/**
 * Compile-time only: every generated list envelope is a `ListPage` of its item, so code written
 * against the generic page (the paginator, `listPage`) reads the server's lists correctly. A list
 * shape that stops fitting fails `npm run typecheck` here.
 */
type Fits<List extends { data: unknown[] }> =
  List extends ListPage<List["data"][number]> ? List : ["not a ListPage of its items:", List];
type AllFit<T extends readonly ListPage<unknown>[]> = T;
// biome-ignore lint/correctness/noUnusedVariables: a type-level assertion, checked by tsc
type GeneratedListsFit = AllFit<
  [
    Fits<TaskList>,
    Fits<FileList>,
    Fits<WebhookDeliveryList>,
    Fits<ApiKeyList>,
    Fits<AccountList>,
    Fits<ChannelList>,
    Fits<LedgerList>,
    Fits<ModelPrices>,
  ]
>;
