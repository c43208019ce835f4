import type { Config } from "../config.ts";
import type { ChannelRow } from "../store/schema.ts";
import { modelsOf } from "./repository.ts";
import type { ChannelService } from "./service.ts";

/** Who serves what: an upstream channel (by priority and weight) or the built-in local engine. */
export class ChannelRouting {
  constructor(
    private readonly config: Pick<Config, "localEngine">,
    private readonly channels: Pick<ChannelService, "servingModel" | "enabled">,
  ) {}

  /**
   * Which provider serves a model for a key: an upstream channel, or the local engine (always for
   * test-mode keys). Undefined when nothing may serve it.
   */
  async plan(model: string, testMode: boolean): Promise<{ provider: string; upstream: boolean } | undefined> {
    if (testMode) return { provider: "local", upstream: false };
    const serving = await this.channels.servingModel(model);
    if (serving.length > 0) {
      const top = [...serving].sort((a, b) => b.priority - a.priority)[0]!;
      return { provider: top.provider, upstream: true };
    }
    const mode = this.config.localEngine;
    if (mode === "all") return { provider: "local", upstream: false };
    if (mode === "auto" && (await this.channels.enabled()).length === 0)
      return { provider: "local", upstream: false };
    return undefined;
  }

  /** The providers serving each model for a key (for GET /v1/models); models absent are unavailable. */
  async availableModels(models: string[], testMode: boolean): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (testMode) {
      for (const model of models) out.set(model, ["local"]);
      return out;
    }
    const enabled = await this.channels.enabled();
    for (const channel of enabled) {
      for (const model of Object.keys(modelsOf(channel))) {
        const list = out.get(model) ?? [];
        if (!list.includes(channel.provider)) list.push(channel.provider);
        out.set(model, list);
      }
    }
    const mode = this.config.localEngine;
    if (mode === "all" || (mode === "auto" && enabled.length === 0)) {
      for (const model of models) if (!out.has(model)) out.set(model, ["local"]);
    }
    return out;
  }

  /** Candidate channels in the order to try: priority tiers, weighted random within a tier. */
  async candidates(model: string): Promise<ChannelRow[]> {
    const serving = await this.channels.servingModel(model);
    const keyed = serving.map((c) => ({ c, key: Math.random() ** (1 / Math.max(1, c.weight)) }));
    keyed.sort((a, b) => b.c.priority - a.c.priority || b.key - a.key);
    return keyed.map((k) => k.c);
  }
}
