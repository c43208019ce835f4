/**
 * The prompt's citations of its media (`@image1`, `@video2`, `@audio1`), checked against content[].
 *
 * Decisions where the contract is silent: citations match case-insensitively (`@Image1` works) and
 * are reported lower case (`image1`); an `@` right after a letter, digit or dot (an e-mail address)
 * is not a citation.
 */
import type { MediaKind } from "../domain/request.ts";
import type { Entry } from "./submit-content.ts";
import { fail, plural } from "./submit-errors.ts";

export function readCitations(prompt: string, entries: Entry[]): string[] {
  const counts: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const e of entries) counts[e.kind]++;
  const citations: string[] = [];
  for (const match of prompt.matchAll(/(?<![\w.])@(image|video|audio)(\d+)/gi)) {
    const kind = match[1]!.toLowerCase() as MediaKind;
    const n = Number.parseInt(match[2]!, 10);
    const have = counts[kind];
    if (n < 1 || n > have) {
      const has =
        have === 0
          ? `no ${kind}`
          : `only ${plural(have, kind === "audio" ? "audio track" : kind)} (@${kind}1${have > 1 ? `…@${kind}${have}` : ""})`;
      fail(
        "invalid_citation",
        `The prompt cites ${match[0]}, but metadata.content has ${has}. Media are numbered per kind in ` +
          `content[] order, from 1.`,
        "prompt",
      );
    }
    const ref = `${kind}${n}`;
    if (!citations.includes(ref)) citations.push(ref);
  }
  return citations;
}
