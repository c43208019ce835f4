/** The most `times` (ms) that fall inside any window of `windowMs`: a rate limit's worst moment. */
export function busiestWindow(times: number[], windowMs: number): number {
  let worst = 0;
  for (const t of times) worst = Math.max(worst, times.filter((o) => o >= t && o < t + windowMs).length);
  return worst;
}
