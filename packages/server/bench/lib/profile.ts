import { readFile, writeFile } from "node:fs/promises";

/** What `node --cpu-prof` writes (the V8 CPU profile format). */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }>;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time in ms, and how much of it the main thread was busy (not idle). */
  totalMs: number;
  busyMs: number;
  /** Self time by component (package, vidrelay file, node core, GC, …), ms, largest first. */
  components: Array<{ name: string; ms: number }>;
  /** Self time by function, ms, largest first. */
  selfFunctions: Array<{ name: string; ms: number }>;
  /** Inclusive time of the gateway's own functions (src/…), ms, largest first. */
  ownInclusive: Array<{ name: string; ms: number }>;
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return path.slice(nm + "/node_modules/".length);
  const src = path.indexOf("/packages/");
  return src >= 0 ? path.slice(src + "/packages/".length) : path;
}

function component(functionName: string, url: string): string {
  if (!url) {
    if (functionName === "(idle)") return "(idle)";
    if (functionName === "(garbage collector)") return "V8 garbage collector";
    if (functionName === "(program)") return "V8/native (program)";
    return "V8 builtins / native";
  }
  if (url.startsWith("node:")) return "node core (http, net, streams, …)";
  const short = shortUrl(url);
  if (url.includes("/node_modules/")) {
    const parts = short.split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (short.startsWith("server/src/")) return `vidrelay ${short.slice("server/".length)}`;
  return short;
}

/** Summarise a .cpuprofile: self time by component and function, inclusive time of vidrelay's own code. */
export async function summarizeProfile(path: string): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const key = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    return url ? `${functionName || "(anonymous)"} ${shortUrl(url)}:${lineNumber + 1}` : functionName;
  };

  const components = new Map<string, number>();
  const self = new Map<string, number>();
  const own = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    totalUs += us;
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url } = node.callFrame;
    const comp = component(functionName, url);
    if (comp === "(idle)") {
      idleUs += us;
      return;
    }
    components.set(comp, (components.get(comp) ?? 0) + us);
    const k = key(id);
    self.set(k, (self.get(k) ?? 0) + us);
    // Inclusive: every distinct own function on this sample's stack.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!frame.url.includes("/packages/server/src/")) continue;
      const name = key(at);
      if (seen.has(name)) continue;
      seen.add(name);
      own.set(name, (own.get(name) ?? 0) + us);
    }
  });
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  return {
    totalMs: totalUs / 1000,
    busyMs: (totalUs - idleUs) / 1000,
    components: sorted(components),
    selfFunctions: sorted(self),
    ownInclusive: sorted(own),
  };
}

/**
 * The V8 CPU profiler on this process, for a window of a bench run (the filling or start-up is not
 * the case): `stop(path)` writes the .cpuprofile there.
 */
export async function startProfiler(): Promise<{ stop(path: string): Promise<void> }> {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return {
    async stop(path: string) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
