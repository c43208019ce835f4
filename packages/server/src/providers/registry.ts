import type { Config } from "../config.ts";
import { ArkAdapter } from "./ark/adapter.ts";
import { DashScopeAdapter } from "./dashscope/adapter.ts";
import { FalAdapter } from "./fal/adapter.ts";
import type { QueryBudgets } from "./query-budget.ts";
import { RelayDanceAdapter } from "./relaydance/adapter.ts";
import type { ProviderAdapter } from "./types.ts";
import { XaiAdapter } from "./xai/adapter.ts";

/** Every upstream provider the gateway can relay to, keyed by the name channels store. */
export function createAdapters(
  config: Pick<Config, "upstreamPollScale" | "upstreamSubmitTimeoutSeconds">,
  shared: { budgets?: QueryBudgets } = {},
): Map<string, ProviderAdapter> {
  const common = {
    pollScale: config.upstreamPollScale,
    submitTimeoutMs: config.upstreamSubmitTimeoutSeconds * 1000,
    budgets: shared.budgets,
  };
  const adapters: ProviderAdapter[] = [
    new ArkAdapter(common),
    new DashScopeAdapter(common),
    new FalAdapter(common),
    new XaiAdapter(common),
    new RelayDanceAdapter(common),
  ];
  return new Map(adapters.map((a) => [a.provider, a]));
}
