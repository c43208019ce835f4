/**
 * "Did you mean …?" for a model id that is not in the catalog: the ids closest to what was typed,
 * by edit distance, or none when nothing is close.
 *
 * Ids are compared in lower case with `.`, `_` and spaces read as `-` (`happyhorse-1-0-i2v` finds
 * `happyhorse-1.0-i2v`). From four characters on, the input may match the start of an id, and from
 * half an id's length any part of it, so a shortened id (`seedance-1-0-pro`, `grok`,
 * `seedance-2-0-720p`) still finds its model while a bare word (`video`) finds nothing. The distance
 * allowed grows with the input, one edit per five characters, between one and four.
 */

/** At most this many ids are suggested (all equally close). */
const MAX_SUGGESTIONS = 3;
/** Longer inputs are not compared (they are not typos of an id). */
const MAX_INPUT = 120;

export function nearestIds(input: string, ids: readonly string[]): string[] {
  const typed = normalize(input);
  if (typed.length === 0 || typed.length > MAX_INPUT) return [];
  const allowed = Math.min(4, Math.max(1, Math.floor(typed.length / 5)));
  const scored = ids
    .map((id, index) => {
      const target = normalize(id);
      let score = distance(typed, target, false, false);
      if (typed.length >= 4) score = Math.min(score, distance(typed, target, false, true));
      if (typed.length * 2 >= target.length) score = Math.min(score, distance(typed, target, true, true));
      // Equally close by part, the id closest as a whole wins: "grok-imagine-vdeo" is a typo of
      // grok-imagine-video, not of grok-imagine-video-1.5, which merely starts the same way.
      return { id, index, score, whole: distance(typed, target, false, false) };
    })
    .filter((s) => s.score <= allowed)
    .sort((a, b) => a.score - b.score || a.index - b.index);
  const closest = scored.filter((s) => s.score === scored[0]?.score);
  const wholeBest = Math.min(...closest.map((s) => s.whole));
  return closest
    .filter((s) => wholeBest > allowed || s.whole === wholeBest)
    .slice(0, MAX_SUGGESTIONS)
    .map((s) => s.id);
}

/** ` Did you mean "a", "b" or "c"?` (with a leading space), or "" when there is nothing to say. */
export function didYouMean(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return "";
  const quoted = suggestions.map((id) => `"${id}"`);
  const list =
    quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1]}`;
  return ` Did you mean ${list}?`;
}

function normalize(id: string): string {
  return id
    .trim()
    .toLowerCase()
    .replace(/[._\s]+/g, "-");
}

/**
 * Levenshtein distance from `a` to `b`, where skipping characters at the start (`freeStart`) or the
 * end (`freeEnd`) of `b` costs nothing: to the closest prefix, or any substring, of `b`.
 */
function distance(a: string, b: string, freeStart: boolean, freeEnd: boolean): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => (freeStart ? 0 : j));
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitute = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitute, previous[j]! + 1, current[j - 1]! + 1);
    }
    previous = current;
  }
  return freeEnd ? Math.min(...previous) : previous[b.length]!;
}
