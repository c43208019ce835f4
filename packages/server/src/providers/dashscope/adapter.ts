import { createHash } from "node:crypto";
import type { NormalizedRequest } from "../../domain/request.ts";
import { happyHorsePrompt, happyHorseTask, unsupportedInput } from "../happyhorse.ts";
import { bearerJson, callUpstream, QUERY_TIMEOUT_MS, retryAfterMs, type UpstreamResponse } from "../http.ts";
import { scaledSchedule } from "../poll-schedule.ts";
import { memoryBudgets, type QueryBudget, type QueryBudgets } from "../query-budget.ts";
import { classifySubmitFailure, type SubmitFailureRules, sendCreate } from "../submit-failure.ts";
import type {
  CancelOutcome,
  ChannelContext,
  ProviderAdapter,
  RunFacts,
  SubmitContext,
  SubmittedTask,
  UpstreamStatus,
} from "../types.ts";
import { failedStatus, moderatedStatus, noOutput } from "../upstream-status.ts";
import { DashScopeCreated, DashScopeError, DashScopeTask } from "./wire.ts";

/** HappyHorse takes images up to 10 MB (docs/providers.md §2.1). */
const MAX_INLINE_BYTES = 10 * 1024 * 1024;
/** 20 task queries per second per Alibaba Cloud account (docs/providers.md §2.1). */
const DEFAULT_QPS = 20;
/** A little over a second, so network jitter never puts 21 queries into the provider's second. */
const BUDGET_WINDOW_MS = 1100;
/** A poll that would wait longer for the budget gives up and is rescheduled (its lease is 30 s). */
const BUDGET_MAX_WAIT_MS = 20_000;
const SEED_MAX = 2147483647;

/** "Typically 1–5 min"; samples took 40–105 s for 5 s at 720P (docs/providers.md §2.1). */
const TYPICAL_RUN_5S: Record<string, number> = { "720p": 75, "1080p": 110 };

/**
 * The channel's base URL is the DashScope host of its region: `https://dashscope.aliyuncs.com`
 * (Beijing), `https://dashscope-intl.aliyuncs.com` (Singapore) or a workspace host
 * `https://{WorkspaceId}.cn-beijing.maas.aliyuncs.com`; a trailing `/api/v1` is accepted.
 * Options ride in its query string (the channel model has no options column yet):
 * - `qps`: the account's task-query budget (default 20);
 * - `account`: a name shared by channels whose keys belong to one Alibaba Cloud account, so they
 *   share one budget (default: channels share a budget when they share a key);
 * - `workspace`: sent as `X-DashScope-WorkSpace`.
 */
interface DashScopeChannel {
  api: string;
  qps: number;
  budgetKey: string;
  workspace?: string;
}

export class DashScopeAdapter implements ProviderAdapter {
  readonly specificationVersion = "v1";
  readonly provider = "dashscope";
  readonly displayName = "DashScope";
  /** POST …/cancel stops PENDING tasks only (docs/providers.md §2). */
  readonly cancelScope = "queued";
  private readonly budgets: QueryBudgets;

  constructor(
    private readonly options: {
      pollScale?: number;
      submitTimeoutMs?: number;
      budgetWindowMs?: number;
      /** Where budgets live: the gateway passes store-backed ones, shared by all its processes. */
      budgets?: QueryBudgets;
    } = {},
  ) {
    this.budgets = options.budgets ?? memoryBudgets();
  }

  typicalRunMs(request: RunFacts): number {
    return (TYPICAL_RUN_5S[request.resolution] ?? 90) * Math.max(1, request.seconds / 5) * 1000;
  }

  pollSchedule(request: NormalizedRequest) {
    const typical = this.typicalRunMs(request);
    // DashScope recommends polling every 15 s.
    return scaledSchedule(
      { firstMs: typical * 0.5, intervalMs: Math.min(typical * 0.1, 15_000), maxIntervalMs: 30_000 },
      this.options.pollScale,
    );
  }

  private channel(context: ChannelContext): DashScopeChannel {
    const url = new URL(context.baseUrl);
    const query = new URLSearchParams(url.search);
    url.search = "";
    url.hash = "";
    const api = `${url
      .toString()
      .replace(/\/+$/, "")
      .replace(/\/api\/v1$/, "")}/api/v1`;
    const qps = Number(query.get("qps") ?? DEFAULT_QPS);
    const account = query.get("account");
    return {
      api,
      qps: Number.isFinite(qps) && qps >= 1 ? Math.floor(qps) : DEFAULT_QPS,
      budgetKey: account
        ? `account:${account}`
        : `key:${createHash("sha256").update(context.apiKey).digest("hex").slice(0, 16)}`,
      workspace: query.get("workspace") ?? undefined,
    };
  }

  /** The task-query budget of the account behind a channel (one per account, shared by its channels). */
  budgetFor(context: ChannelContext): QueryBudget {
    const ch = this.channel(context);
    return this.budgets({
      key: `dashscope:${ch.budgetKey}:${ch.qps}`,
      limit: ch.qps,
      windowMs: this.options.budgetWindowMs ?? BUDGET_WINDOW_MS,
      maxWaitMs: BUDGET_MAX_WAIT_MS,
    });
  }

  private headers(context: ChannelContext, ch: DashScopeChannel): Record<string, string> {
    return {
      ...bearerJson(context.apiKey),
      ...(ch.workspace ? { "x-dashscope-workspace": ch.workspace } : {}),
    };
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask> {
    const ch = this.channel(context);
    const task = happyHorseTask(request);
    unsupportedInput(request);
    const input: Record<string, unknown> = {};
    const prompt = happyHorsePrompt(request, task);
    if (prompt) input.prompt = prompt;
    const media: Array<{ type: string; url: string }> = [];
    for (const item of request.content) {
      const url = await context.mediaUrl(item, { maxInlineBytes: MAX_INLINE_BYTES, lowerCaseFormat: true });
      if (item.kind === "video") media.push({ type: "video", url });
      else if (item.kind === "image" && task === "i2v" && item.role === "first_frame")
        media.push({ type: "first_frame", url });
      else if (item.kind === "image") media.push({ type: "reference_image", url });
      // HappyHorse takes no audio input; the catalog never routes audio here.
    }
    if (task === "edit") media.sort((a, b) => (a.type === "video" ? -1 : b.type === "video" ? 1 : 0));
    if (media.length > 0) input.media = media;

    const parameters: Record<string, unknown> = {
      // Upper case only: DashScope refuses "720p".
      resolution: request.resolution.toUpperCase(),
      // HappyHorse marks videos unless told not to; ours are unmarked unless the client asks.
      watermark: request.watermark ?? false,
    };
    // i2v follows the image and edit follows the video: both refuse `ratio`; edit refuses `duration`.
    if ((task === "t2v" || task === "r2v") && request.ratio !== "adaptive") parameters.ratio = request.ratio;
    if (task !== "edit") parameters.duration = Math.round(request.seconds);
    // Our -1 means "random", which DashScope expresses by leaving the seed out.
    if (request.seed !== undefined && Number.isInteger(request.seed) && request.seed >= 0) {
      if (request.seed <= SEED_MAX) parameters.seed = request.seed;
    }
    const body = { model: context.upstreamModel, input, parameters };

    return sendCreate(
      `${ch.api}/services/aigc/video-generation/video-synthesis`,
      {
        headers: { ...this.headers(context, ch), "x-dashscope-async": "enable" },
        body,
        timeoutMs: this.options.submitTimeoutMs,
        signal: context.signal,
      },
      { name: this.displayName, rules: DASHSCOPE_FAILURES, created },
    );
  }

  async status(upstreamId: string, context: ChannelContext): Promise<UpstreamStatus> {
    const response = await this.query(context, `/tasks/${encodeURIComponent(upstreamId)}`);
    if (response.status === 404) return notFound(upstreamId);
    if (response.status !== 200) throw queryError("task query", response);
    const parsed = DashScopeTask.safeParse(response.json);
    if (!parsed.success)
      throw new Error(`DashScope answered an unexpected task shape: ${response.text.slice(0, 200)}`);
    return mapStatus(parsed.data, upstreamId);
  }

  /** Only PENDING tasks can be cancelled; anything else answers an error, which the caller logs. */
  async cancel(upstreamId: string, context: ChannelContext): Promise<CancelOutcome> {
    const response = await this.query(context, `/tasks/${encodeURIComponent(upstreamId)}/cancel`, "POST");
    if (response.status === 200) return { cancelled: true };
    // Only PENDING tasks can be cancelled; RUNNING and finished ones answer a 4xx (UnsupportedOperation).
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      const { code, message } = errorOf(response);
      return {
        cancelled: false,
        reason: `DashScope cancels only tasks still waiting to start (${code || response.status}: ${message.slice(0, 200)})`,
      };
    }
    throw queryError("cancel", response);
  }

  async check(context: ChannelContext): Promise<void> {
    const response = await this.query(context, "/tasks?page_no=1&page_size=1");
    if (response.status !== 200)
      throw classifySubmitFailure({ response }, this.displayName, DASHSCOPE_FAILURES);
  }

  /** DashScope has no callbacks for this API: the gateway polls. */
  parseCallback(): null {
    return null;
  }

  /** A task-management call, paced by the account's query budget. */
  private async query(context: ChannelContext, path: string, method = "GET"): Promise<UpstreamResponse> {
    const ch = this.channel(context);
    const budget = this.budgetFor(context);
    await budget.take(context.signal);
    const response = await callUpstream(`${ch.api}${path}`, {
      method,
      headers: this.headers(context, ch),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 429) {
      // Someone else on the account used the budget: hold every poll of this account back a while.
      await budget.pause(retryAfterMs(response.headers) ?? 1000);
    }
    return response;
  }
}

function errorOf(response: UpstreamResponse): { code: string; message: string } {
  const parsed = DashScopeError.safeParse(response.json);
  const code = parsed.success ? (parsed.data.code ?? "") : "";
  const message = parsed.success ? (parsed.data.message ?? response.text) : response.text.slice(0, 300);
  return { code, message };
}

function created(json: unknown): SubmittedTask | undefined {
  const parsed = DashScopeCreated.safeParse(json);
  return parsed.success ? { upstreamId: parsed.data.output.task_id } : undefined;
}

const MODERATION = /DataInspection|Moderation|Sensitive/i;

/**
 * DashScope's synchronous errors (docs/providers.md §2.1) say more than their status: `Throttling*`
 * (also on a 400) is throttling, moderation codes are `content_moderated`, `InvalidApiKey`,
 * `AccessDenied` and `Arrearage` are the channel, a `Model…NotFound` code is its model map.
 */
const DASHSCOPE_FAILURES: SubmitFailureRules = {
  readError: errorOf,
  refine(byStatus, { code }) {
    if (byStatus === "rate_limited" || code.startsWith("Throttling")) return "rate_limited";
    if (MODERATION.test(code)) return "moderated";
    if (code === "InvalidApiKey" || code === "AccessDenied") return "auth";
    if (code === "Arrearage") return "account";
    if (/^Model\.|ModelNotFound|Model.*NotFound/i.test(code)) return "model";
    return byStatus;
  },
};

function queryError(what: string, response: UpstreamResponse): Error {
  const { code, message } = errorOf(response);
  return new Error(`DashScope ${what} answered ${response.status} ${code}: ${message.slice(0, 200)}`);
}

/** docs/providers.md §6: UNKNOWN is DashScope's "expired" (task ids live 24 h); it also covers ids it never had. */
function notFound(upstreamId: string): UpstreamStatus {
  return failedStatus(
    "expired",
    `DashScope reports task ${upstreamId} as UNKNOWN: it expired (task ids live 24 h) or never existed for this key's account`,
  );
}

/** docs/providers.md §6: unknown statuses stay unknown (polled, counted), never silently "running". */
export function mapStatus(task: DashScopeTask, upstreamId: string): UpstreamStatus {
  const out = task.output;
  switch (out.task_status) {
    case "PENDING":
      return { type: "queued" };
    case "RUNNING":
      return { type: "running" };
    case "SUCCEEDED": {
      if (!out.video_url) return noOutput("DashScope");
      const seconds = task.usage?.output_video_duration ?? task.usage?.duration;
      return { type: "succeeded", videoUrl: out.video_url, usage: seconds !== undefined ? { seconds } : {} };
    }
    case "FAILED": {
      const code = out.code ?? "upstream_failed";
      const message = out.message ?? "the provider failed this task";
      if (MODERATION.test(code)) return moderatedStatus(code, message);
      return failedStatus(code, message, /^Internal|Timeout/i.test(code));
    }
    case "CANCELED":
      return failedStatus("cancelled", "the task was cancelled at the provider");
    // HTTP 200 with UNKNOWN: the id does not exist (any more) — task ids live 24 h.
    case "UNKNOWN":
      return notFound(upstreamId);
    default:
      return { type: "unknown", raw: out.task_status };
  }
}
