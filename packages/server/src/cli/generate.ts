import { basename, resolve } from "node:path";
import type {
  ContentItem,
  Fit,
  ImageRole,
  Model,
  Ratio,
  Resolution,
  SubmitMetadata,
  Task,
  VideoCreateParams,
  VidRelay,
} from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, clientCommand, EXIT, type Io, intFlag, UsageError } from "./common.ts";
import { checkAgainstModel, checkFlags, findModel, type GenerateFlags, isUrl } from "./generate-checks.ts";
import { ProgressDisplay, type ProgressMode, progressMode } from "./progress.ts";

export const DEFAULT_MODEL = "seedance-1-5-pro-with-audio";

export const GENERATE_HELP = `vidrelay generate — upload images, submit a video task, show its progress, download the mp4

Usage:
  vidrelay generate [-i IMAGE]... [-p PROMPT] [options]

Input:
  -i, --image PATH|URL   an image (repeatable), cited in the prompt as @image1, @image2… in order.
                         Local files are uploaded first. On models with reference mode the images are
                         references; otherwise the first is the first frame and a second the last frame.
  --first-frame PATH|URL the first frame (numbered before the -i images)
  --last-frame PATH|URL  the last frame (numbered after them)
  -p, --prompt TEXT      what to generate (required without images)

Parameters (defaults come from the model; 'vidrelay models' lists what each accepts; every flag and
image is checked against the model before anything is uploaded):
  -m, --model ID         model id (default ${DEFAULT_MODEL})
  --seconds N            clip length in whole seconds
  --ratio R              21:9, 16:9, 4:3, 1:1, 3:4, 9:16 or adaptive
  --fit crop|pad         how a first frame of another shape meets --ratio (models that conform it,
                         e.g. happyhorse-1.0-i2v): centre crop (default) or black bars
  --resolution R         480p, 720p or 1080p
  --audio, --no-audio    soundtrack on or off (where the model makes it optional)
  --seed N               seed (-1 for random, where the model supports it)

Output:
  --estimate             only say what it would cost and whether it would be accepted (nothing is
                         uploaded or created; exit 1 when it would be refused)
  -o, --output PATH      where to save the mp4 (default <task_id>.mp4)
  --no-wait              print the task id and exit once it is submitted
  --timeout SECONDS      stop waiting after this long (the task continues on the server)

${CLIENT_OPTIONS_HELP}

Progress goes to stderr (a live bar on a terminal, one line per change otherwise); the saved path
goes to stdout. With --json, stdout carries one JSON object per event (uploaded, submitted,
progress, succeeded). Exit codes: 0 ok, 1 task failed, 2 usage, 3 auth, 4 network/server.

Example:
  vidrelay generate -i photo.jpg -p "@image1 slow push-in" --seconds 5 --ratio 9:16 -o clip.mp4
`;

const GENERATE_OPTIONS = {
  image: { type: "string", short: "i", multiple: true },
  "first-frame": { type: "string" },
  "last-frame": { type: "string" },
  prompt: { type: "string", short: "p" },
  model: { type: "string", short: "m" },
  seconds: { type: "string" },
  ratio: { type: "string" },
  fit: { type: "string" },
  resolution: { type: "string" },
  audio: { type: "boolean" },
  "no-audio": { type: "boolean" },
  seed: { type: "string" },
  output: { type: "string", short: "o" },
  "no-wait": { type: "boolean" },
  timeout: { type: "string" },
  estimate: { type: "boolean" },
} as const;

interface ImageInput {
  source: string;
  role: ImageRole;
}

/** Which role each image gets: references on reference-mode models, frames otherwise. */
export function assignRoles(
  model: Pick<Model, "id" | "modes">,
  images: string[],
  firstFrame: string | undefined,
  lastFrame: string | undefined,
): ImageInput[] {
  const out: ImageInput[] = [];
  if (!model.modes.some((mode) => mode !== "text") && (images.length || firstFrame || lastFrame)) {
    throw new UsageError(`${model.id} makes video from text only: drop -i/--first-frame/--last-frame`);
  }
  if (firstFrame) out.push({ source: firstFrame, role: "first_frame" });
  if (model.modes.includes("reference")) {
    for (const source of images) out.push({ source, role: "reference_image" });
  } else if (images.length) {
    const free: ImageRole[] = [];
    if (!firstFrame) free.push("first_frame");
    if (!lastFrame && model.modes.includes("first_last_frame")) free.push("last_frame");
    if (images.length > free.length) {
      const can = model.modes.includes("first_last_frame") ? "a first and a last frame" : "one first frame";
      throw new UsageError(
        `${model.id} takes ${can}, not ${images.length + (firstFrame ? 1 : 0) + (lastFrame ? 1 : 0)} images; ` +
          "use a model with reference mode (e.g. doubao-seedance-2-0-720p) for more",
      );
    }
    images.forEach((source, i) => {
      out.push({ source, role: free[i]! });
    });
  }
  if (lastFrame) out.push({ source: lastFrame, role: "last_frame" });
  return out;
}

export async function generate(args: string[], io: Io): Promise<number> {
  const command = clientCommand(args, io, GENERATE_HELP, GENERATE_OPTIONS);
  if (typeof command === "number") return command;
  const { values, positionals } = command;
  if (positionals.length) {
    throw new UsageError(`unexpected argument "${positionals[0]}" (quote the prompt and pass it with -p)`);
  }
  if (values.audio && values["no-audio"])
    throw new UsageError("--audio and --no-audio contradict each other");
  const images = values.image ?? [];
  const prompt = values.prompt?.trim() ? values.prompt : undefined;
  if (!prompt && !images.length && !values["first-frame"]) {
    throw new UsageError("nothing to generate: give a prompt (-p) and/or images (-i)");
  }
  const seconds = intFlag("seconds", values.seconds, 1);
  const seed = intFlag("seed", values.seed, -1);
  const timeoutSeconds = intFlag("timeout", values.timeout, 1);
  const flags: GenerateFlags = {
    images,
    firstFrame: values["first-frame"],
    lastFrame: values["last-frame"],
    prompt,
    seconds,
    ratio: values.ratio,
    resolution: values.resolution?.toLowerCase(),
    fit: values.fit,
    audio: values.audio ? true : values["no-audio"] ? false : undefined,
    seed,
    output: values.output,
  };
  // Every flag is checked before anything is uploaded: first on its own, then against the model.
  const local = await checkFlags(flags);
  const modelId = values.model ?? DEFAULT_MODEL;
  const json = Boolean(values.json);
  const client = command.client();
  const model = findModel(await client.models.list(), modelId);
  // The model decides whether -i images are references or frames.
  const inputs = assignRoles(model, images, values["first-frame"], values["last-frame"]);
  checkAgainstModel(model, flags, inputs, local);
  if (values.estimate)
    return estimateOnly(client, io, json, { modelId, prompt, seconds, seed, flags, inputs });

  // Upload local files (each distinct path once), in parallel.
  const uploads = new Map<string, Promise<string>>();
  for (const { source } of inputs) {
    if (isUrl(source) || uploads.has(source)) continue;
    uploads.set(
      source,
      client.files.upload(source).then((file) => {
        if (json) io.out(JSON.stringify({ event: "uploaded", path: source, file }));
        else
          io.err(
            `uploaded ${basename(source)} → ${file.id} (${file.width}x${file.height} ${file.content_type})`,
          );
        return file.url;
      }),
    );
  }
  const urls = new Map<string, string>();
  for (const [path, url] of uploads) urls.set(path, await url);
  const content: ContentItem[] = inputs.map(({ source, role }) => ({
    type: "image_url",
    image_url: { url: urls.get(source) ?? source },
    role,
  }));

  const body = submitBody({ modelId, prompt, seconds, seed, flags }, content);
  const created = await client.videos.create(body);
  if (json) io.out(JSON.stringify({ event: "submitted", task: created }));
  if (values["no-wait"]) {
    if (!json) {
      io.out(created.task_id);
      io.err(`submitted ${created.task_id}; follow it with: vidrelay tasks wait ${created.task_id}`);
    }
    return EXIT.ok;
  }
  if (!json) io.err(`submitted ${created.task_id} (${created.model})`);
  return waitAndSave(client, created.task_id, {
    io,
    mode: progressMode(json),
    output: values.output ?? `${created.task_id}.mp4`,
    timeoutMs: timeoutSeconds === undefined ? undefined : timeoutSeconds * 1000,
  });
}

interface BodyParts {
  modelId: string;
  prompt: string | undefined;
  seconds: number | undefined;
  seed: number | undefined;
  flags: { ratio?: string; fit?: string; resolution?: string; audio?: boolean };
}

function submitBody(parts: BodyParts, content: ContentItem[]): VideoCreateParams {
  const { flags } = parts;
  const metadata: SubmitMetadata = {};
  if (flags.ratio) metadata.ratio = flags.ratio as Ratio;
  if (flags.fit) metadata.fit = flags.fit as Fit;
  if (flags.resolution) metadata.resolution = flags.resolution as Resolution;
  if (flags.audio !== undefined) metadata.generate_audio = flags.audio;
  if (parts.seed !== undefined) metadata.seed = parts.seed;
  if (content.length) metadata.content = content;
  const body: VideoCreateParams = { model: parts.modelId };
  if (parts.prompt) body.prompt = parts.prompt;
  if (parts.seconds !== undefined) body.seconds = String(parts.seconds);
  if (Object.keys(metadata).length) body.metadata = metadata;
  return body;
}

/**
 * `--estimate`: what the submit would hold and whether it would be accepted, with nothing uploaded
 * or created (a local image stands in as a placeholder URL: the price does not depend on it).
 * Exit 0 when it would be accepted, 1 when it would be refused.
 */
async function estimateOnly(
  client: VidRelay,
  io: Io,
  json: boolean,
  parts: BodyParts & { inputs: ImageInput[] },
): Promise<number> {
  const content: ContentItem[] = parts.inputs.map(({ source, role }) => ({
    type: "image_url",
    image_url: {
      url: isUrl(source) ? source : `https://upload.invalid/${encodeURIComponent(basename(source))}`,
    },
    role,
  }));
  const estimate = await client.videos.estimate(submitBody(parts, content) as VideoCreateParams);
  if (json) io.out(JSON.stringify({ event: "estimate", estimate }));
  else {
    io.out(
      `${estimate.model}: ${estimate.seconds} s at ${estimate.resolution} on ${estimate.provider} would hold ` +
        `${estimate.amount} ${estimate.currency}${estimate.free ? " (free)" : ""}`,
    );
    io.out(estimate.allowed ? "allowed" : `refused: ${estimate.refusal?.code}: ${estimate.refusal?.message}`);
  }
  return estimate.allowed ? EXIT.ok : EXIT.failed;
}

export interface WaitAndSaveOptions {
  io: Io;
  mode: ProgressMode;
  /** Download here once succeeded; undefined: do not download. */
  output?: string;
  timeoutMs?: number;
}

/** Wait with a progress display; on success download (when asked) and print the path. */
export async function waitAndSave(
  client: VidRelay,
  taskId: string,
  options: WaitAndSaveOptions,
): Promise<number> {
  const { io, mode } = options;
  const display = new ProgressDisplay(mode, io);
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort(new Interrupted());
  process.once("SIGINT", onSigint);
  let task: Task;
  try {
    task = await client.videos.wait(taskId, {
      onProgress: (t) => display.update(t),
      signal: interrupt.signal,
      timeoutMs: options.timeoutMs,
    });
  } catch (error) {
    if (error instanceof Interrupted) {
      display.stop();
      io.err(`interrupted; ${taskId} continues on the server (vidrelay tasks wait ${taskId})`);
      return 130;
    }
    throw error;
  } finally {
    display.stop();
    process.removeListener("SIGINT", onSigint);
  }
  const seconds = ((Date.now() - (task.created_at ?? 0) * 1000) / 1000).toFixed(1);
  if (!options.output) {
    if (mode === "json") io.out(JSON.stringify({ event: "succeeded", task }));
    else io.out(task.url ?? task.task_id);
    return EXIT.ok;
  }
  const path = resolve(options.output);
  await client.videos.download(task, path);
  if (mode === "json") {
    io.out(JSON.stringify({ event: "succeeded", task, output: path }));
  } else {
    const v = task.video;
    const facts = v
      ? ` (${v.width}x${v.height}, ${v.duration.toFixed(1)} s, ${(v.bytes / 1e6).toFixed(1)} MB)`
      : "";
    io.err(`${task.task_id} succeeded in ${seconds} s${facts}`);
    io.out(path);
  }
  return EXIT.ok;
}

class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}
