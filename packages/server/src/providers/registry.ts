import type { Config } from "../config.ts";
import { ArkAdapter } from "./ark/adapter.ts";
import type { ProviderAdapter } from "./types.ts";

/** Every upstream provider the gateway can relay to, keyed by the name channels store. */
export function createAdapters(config: Config): Map<string, ProviderAdapter> {
  const adapters: ProviderAdapter[] = [
    new ArkAdapter({
      pollScale: config.upstreamPollScale,
      submitTimeoutMs: config.upstreamSubmitTimeoutSeconds * 1000,
    }),
  ];
  return new Map(adapters.map((a) => [a.provider, a]));
}
