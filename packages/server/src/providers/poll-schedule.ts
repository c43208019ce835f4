/**
 * A poll schedule (`ProviderAdapter.pollSchedule`) from an adapter's unscaled delays: each is
 * multiplied by the registry's `pollScale` (tests run at 0.01) and kept above a floor, so a scaled
 * schedule never polls in a tight loop.
 */
export function scaledSchedule(
  delays: { firstMs: number; intervalMs: number; maxIntervalMs: number },
  scale = 1,
): { firstMs: number; intervalMs: number; maxIntervalMs: number } {
  return {
    firstMs: Math.max(20, delays.firstMs * scale),
    intervalMs: Math.max(20, delays.intervalMs * scale),
    maxIntervalMs: Math.max(50, delays.maxIntervalMs * scale),
  };
}
