import type { NormalizedRequest } from "../domain/request.ts";
import { ProviderError } from "./types.ts";

/**
 * HappyHorse semantics shared by the DashScope and fal adapters (docs/providers.md §2): which of the
 * four task types a normalized request is, and how our `@image1` citations read to the model.
 */
export type HappyHorseTask = "t2v" | "i2v" | "r2v" | "edit";

export function happyHorseTask(request: NormalizedRequest): HappyHorseTask {
  if (request.content.some((m) => m.kind === "video")) return "edit";
  if (request.mode === "reference") return "r2v";
  if (request.mode === "first_frame" || request.mode === "first_last_frame") return "i2v";
  return "t2v";
}

const CITATION = /(?<![\w.])@(image|video|audio)(\d+)/gi;

/**
 * Our prompts cite media as `@image1`; HappyHorse does not know that syntax. Reference-to-video
 * names reference images `character1..character9` in the order they are sent, so citations become
 * those names; edit cites the source video as the video; in the other modes the single image is
 * the first frame, and a citation of it is dropped rather than left as noise in the prompt.
 */
export function happyHorsePrompt(request: NormalizedRequest, task: HappyHorseTask): string {
  const references = request.content.filter((m) => m.kind === "image" && m.role === "reference_image");
  const rewritten = request.prompt.replace(CITATION, (whole, kind: string, n: string) => {
    const index = Number(n);
    if (kind.toLowerCase() === "image" && (task === "r2v" || task === "edit")) {
      const at = references.findIndex((m) => m.index === index);
      return at >= 0 ? `character${at + 1}` : whole;
    }
    if (kind.toLowerCase() === "video" && task === "edit") return "the video";
    return "";
  });
  return rewritten.replace(/[ \t]{2,}/g, " ").trim();
}

/** HappyHorse has no last-frame and no audio input: refuse rather than send something else. */
export function unsupportedInput(request: NormalizedRequest): void {
  const bad = request.content.find((m) => m.role === "last_frame" || m.kind === "audio");
  if (bad) {
    throw new ProviderError(
      "rejected",
      "unsupported_by_provider",
      `HappyHorse takes no ${bad.kind === "audio" ? "audio" : "last-frame"} input (metadata.content[${bad.position}])`,
    );
  }
}
