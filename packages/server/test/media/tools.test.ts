/**
 * The media tools themselves: which ffmpeg/ffprobe is chosen, and the bounds every run on
 * untrusted input gets (local files only, a forced demuxer, wall time, memory).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  DEMUXERS,
  demuxerOf,
  ffmpegPath,
  mediaTools,
  parseToolVersion,
  probe,
  resolveMediaTool,
  run,
  ToolError,
} from "../../src/media/ffmpeg.ts";
import { tempDir } from "./fixtures.ts";

describe("choosing ffmpeg and ffprobe", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  /** A directory holding a fake `name` that prints `firstLine` for -version. */
  const fakeTool = async (sub: string, name: string, firstLine: string) => {
    const bin = join(dir, sub);
    await mkdir(bin, { recursive: true });
    const path = join(bin, name);
    await writeFile(path, `#!/bin/sh\necho '${firstLine}'\n`);
    await chmod(path, 0o755);
    return bin;
  };
  const bundled = () => "/opt/bundled/ffmpeg";

  test("versions: release tokens have a major, git snapshots do not", () => {
    assert.deepEqual(parseToolVersion("ffmpeg version 5.1.6-0+deb12u1 Copyright (c) 2000-2024"), {
      version: "5.1.6-0+deb12u1",
      major: 5,
    });
    assert.deepEqual(parseToolVersion("ffprobe version n7.0.2 Copyright"), { version: "n7.0.2", major: 7 });
    assert.deepEqual(parseToolVersion("ffmpeg version N-47683-g0e8eb07980-static https://…"), {
      version: "N-47683-g0e8eb07980-static",
      major: null,
    });
    assert.deepEqual(parseToolVersion("garbage"), { version: "unknown", major: null });
  });

  test("a system ffmpeg 5 or newer on PATH is preferred to the bundled build", async () => {
    const bin = await fakeTool("new", "ffmpeg", "ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023");
    const tool = resolveMediaTool("ffmpeg", { PATH: `/nonexistent:${bin}` }, bundled);
    assert.equal(tool.source, "system");
    assert.equal(tool.path, join(bin, "ffmpeg"));
    assert.equal(tool.major, 6);
  });

  test("an older or unversioned system ffmpeg is passed over for the bundled one", async () => {
    for (const [sub, line] of [
      ["old", "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright"],
      ["git", "ffmpeg version N-112233-gabcdef Copyright"],
    ]) {
      const bin = await fakeTool(sub!, "ffmpeg", line!);
      const tool = resolveMediaTool("ffmpeg", { PATH: bin }, bundled);
      assert.equal(tool.source, "bundled", line);
      assert.equal(tool.path, "/opt/bundled/ffmpeg");
    }
    assert.equal(resolveMediaTool("ffmpeg", { PATH: "" }, bundled).source, "bundled");
  });

  test("VIDRELAY_FFPROBE_PATH wins over everything", async () => {
    const bin = await fakeTool("pinned", "ffprobe", "ffprobe version 5.0 Copyright");
    const sys = await fakeTool("sys", "ffprobe", "ffprobe version 7.1 Copyright");
    const tool = resolveMediaTool(
      "ffprobe",
      { PATH: sys, VIDRELAY_FFPROBE_PATH: join(bin, "ffprobe") },
      bundled,
    );
    assert.equal(tool.source, "env");
    assert.equal(tool.version, "5.0");
  });

  test("this process resolved working tools and says why", () => {
    const tools = mediaTools();
    for (const tool of [tools.ffmpeg, tools.ffprobe]) {
      assert.notEqual(tool.version, "unknown", tool.path);
      assert.ok(["env", "system", "bundled"].includes(tool.source));
    }
    assert.equal(tools.ffmpeg.path, ffmpegPath);
  });
});

describe("bounds on every run", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  test("a run past its wall time is killed and says so", async () => {
    const started = Date.now();
    await assert.rejects(
      run(
        ffmpegPath,
        ["-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "anullsrc", "-t", "60", "-f", "null", "-"],
        {
          timeoutMs: 300,
        },
      ),
      (error: unknown) =>
        error instanceof ToolError && error.reason === "timeout" && /longer than 300 ms/.test(error.message),
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  test("the memory cap stops a decoder that allocates more, and leaves small work alone", async () => {
    const frame = (size: string) => [
      ...["-v", "error", "-nostdin", "-xerror", "-f", "lavfi", "-i", `color=s=${size}`],
      ...["-frames:v", "1", "-f", "null", "-"],
    ];
    // A 12000x12000 frame needs about 430 MB.
    await run(ffmpegPath, frame("64x64"), { memoryMb: 150 });
    await run(ffmpegPath, frame("12000x12000"), { memoryMb: 1024 });
    await assert.rejects(
      run(ffmpegPath, frame("12000x12000"), { memoryMb: 150 }),
      (error: unknown) => error instanceof ToolError && error.reason === "failed",
    );
  });

  test("an abort kills the tool", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(
      run(
        ffmpegPath,
        ["-v", "error", "-nostdin", "-re", "-f", "lavfi", "-i", "anullsrc", "-t", "60", "-f", "null", "-"],
        {
          signal: controller.signal,
        },
      ),
      (error: unknown) => error instanceof ToolError && error.reason === "aborted",
    );
  });

  test("the demuxer comes from the bytes: a playlist, text or an image is not read as video", async () => {
    const playlist = join(dir, "clip.mp4");
    await writeFile(playlist, "#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/seg.ts\n#EXT-X-ENDLIST\n");
    await assert.rejects(demuxerOf(playlist), /not a video or audio type this server reads/);
    const mp4 = join(dir, "real.mp4");
    execFileSync(ffmpegPath, [
      ...["-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=d=0.2:s=64x48:r=10"],
      ...["-c:v", "libx264", "-pix_fmt", "yuv420p", "-y", mp4],
    ]);
    assert.equal(await demuxerOf(mp4), "mov");
    assert.equal(DEMUXERS["video/webm"]?.[0], "matroska");
    const info = await probe(mp4, undefined, { demuxer: await demuxerOf(mp4) });
    assert.equal(info.streams[0]?.width, 64);
  });
});
