import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Model, Task } from "@vidrelay/sdk";
import type { Page } from "playwright-core";
import { assertClean, browserSkipReason, type ConsoleHarness, startConsoleHarness } from "./harness.ts";

const skip = browserSkipReason();
const SAMPLES = "/work/shared/samples";
const LANDSCAPE = `${SAMPLES}/landscape-600x450.jpg`;
const GREY = `${SAMPLES}/grey-400x267.jpg`;
const REFERENCE_MODEL = "doubao-seedance-2-0-480p";
const FRAMES_MODEL = "seedance-1-5-pro-no-audio";

async function openPlayground(h: ConsoleHarness, model: string) {
  const opened = await h.signIn();
  await opened.page.goto("/console/playground");
  await opened.page.getByRole("heading", { level: 1, name: "Playground" }).waitFor();
  await opened.page.getByLabel("Model").selectOption(model);
  return opened;
}

/** Wait until `@imageN` is uploaded: its Insert button is enabled only then. */
async function uploaded(page: Page, tag: string) {
  await page
    .getByRole("button", { name: `Insert ${tag} into the prompt` })
    .and(page.locator(":enabled"))
    .waitFor();
}

const optionValues = (page: Page, label: string) =>
  page
    .getByLabel(label, { exact: true })
    .locator("option")
    .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));

describe("console: playground", { skip }, () => {
  let h: ConsoleHarness;
  let models: Model[];
  before(async () => {
    h = await startConsoleHarness();
    models = ((await (await h.gateway.api("/v1/models")).json()) as { data: Model[] }).data;
  });
  after(() => h?.close());

  test("upload an image, cite it, Generate: progress, then the real mp4 plays, with download and task links", async () => {
    const { page, report } = await openPlayground(h, REFERENCE_MODEL);
    await page.getByLabel("Image", { exact: true }).setInputFiles(LANDSCAPE);
    await page.getByRole("img", { name: "@image1: landscape-600x450.jpg" }).waitFor();
    await uploaded(page, "@image1");
    // With media, the ratio follows the model's media default (adaptive: the first image's shape).
    const ratio = models.find((m) => m.id === REFERENCE_MODEL)!.ratios.default_with_media;
    assert.equal(await page.getByLabel("Ratio").inputValue(), ratio);
    // Seedance 2.0 takes references and frames: the role select offers all three, reference first.
    assert.deepEqual(await optionValues(page, "Role of @image1"), [
      "reference_image",
      "first_frame",
      "last_frame",
    ]);

    const prompt = page.getByLabel("Prompt", { exact: true });
    await prompt.fill("Slow push-in on");
    await page.getByRole("button", { name: "Insert @image1 into the prompt" }).click();
    assert.equal(await prompt.inputValue(), "Slow push-in on @image1 ");
    await page.getByLabel("Seconds").selectOption("4");

    // Record every status and progress value the page shows while the task runs.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        const badge = document.querySelector(".badge")?.textContent;
        const bar = document.querySelector("progress")?.getAttribute("value");
        const entry = `${badge}:${bar}`;
        if (badge && seen.at(-1) !== entry) seen.push(entry);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    const generate = page.getByRole("button", { name: "Generate" });
    const submit = page.waitForResponse(
      (r) => r.url().endsWith("/v1/video/generations") && r.request().method() === "POST",
    );
    await generate.click();
    const created = (await (await submit).json()) as { task_id: string };
    assert.match(created.task_id, /^task_[A-Za-z0-9]{32}$/);

    await page.waitForFunction(
      () => {
        const video = document.querySelector("video");
        return Boolean(video && video.readyState >= 2 && video.duration > 0);
      },
      undefined,
      { timeout: 180_000 },
    );
    const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
    assert.ok(
      seen.some((s) => s.startsWith("running:")),
      `statuses seen: ${seen.join(", ")}`,
    );
    assert.equal(seen.at(-1)?.split(":")[0], "succeeded", seen.join(", "));

    const task = (await (await h.gateway.api(`/v1/video/generations/${created.task_id}`)).json()) as Task;
    assert.equal(task.status, "succeeded");
    assert.equal(task.prompt, "Slow push-in on @image1 ");
    const video = await page.evaluate(() => {
      const v = document.querySelector("video")!;
      return { src: v.currentSrc, duration: v.duration, controls: v.controls };
    });
    assert.equal(video.src, task.url);
    assert.ok(video.controls);
    assert.ok(Math.abs(video.duration - 4) < 0.5, `duration ${video.duration}`);
    assert.equal(await page.getByRole("link", { name: "Download" }).getAttribute("href"), task.url);
    const detail = page.getByRole("link", { name: `Task ${created.task_id}` });
    assert.equal(await detail.getAttribute("href"), `/console/tasks/${created.task_id}`);
    await page.getByText("the request that was sent").waitFor();
    assertClean(report);
  });

  test("without an event stream (a buffering proxy) progress falls back to polling", async () => {
    const { page, report } = await openPlayground(h, REFERENCE_MODEL);
    // A proxy that answers the events URL with plain text: the SDK refuses it as not a stream.
    await page.route("**/events", (route) =>
      route.fulfill({ status: 200, contentType: "text/plain", body: "" }),
    );
    await page.getByLabel("Prompt", { exact: true }).fill("A paper boat on a pond");
    await page.getByLabel("Seconds").selectOption("4");
    await page.getByRole("button", { name: "Generate" }).click();
    await page.getByText("(checking every 2 s)").waitFor();
    await page.waitForFunction(() => (document.querySelector("video")?.readyState ?? 0) >= 2, undefined, {
      timeout: 180_000,
    });
    await page.getByRole("link", { name: "Download" }).waitFor();
    assertClean(report);
  });

  test("drag and drop adds images; tags renumber when one is removed", async () => {
    const { page, report } = await openPlayground(h, REFERENCE_MODEL);
    const files = [
      { name: "landscape-600x450.jpg", data: readFileSync(LANDSCAPE).toString("base64") },
      { name: "grey-400x267.jpg", data: readFileSync(GREY).toString("base64") },
    ];
    const dataTransfer = await page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: "image/jpeg" }));
      }
      return transfer;
    }, files);
    const zone = page.getByTestId("dropzone");
    await zone.dispatchEvent("dragover", { dataTransfer });
    await zone.dispatchEvent("drop", { dataTransfer });
    await page.getByRole("img", { name: "@image1: landscape-600x450.jpg" }).waitFor();
    await page.getByRole("img", { name: "@image2: grey-400x267.jpg" }).waitFor();
    await uploaded(page, "@image1");
    await uploaded(page, "@image2");

    // Both files reached POST /v1/files.
    const listed = (await (await h.gateway.api("/v1/files?limit=100")).json()) as {
      data: { filename: string }[];
    };
    assert.ok(listed.data.some((f) => f.filename === "grey-400x267.jpg"));

    await page.getByRole("button", { name: "Remove @image1" }).click();
    await page.getByRole("img", { name: "@image1: grey-400x267.jpg" }).waitFor();
    assert.equal(await page.getByRole("img", { name: /landscape/ }).count(), 0);
    assert.equal((await page.locator("#copy-as-code").innerText()).match(/"image_url": \{/g)?.length, 1);
    await page.getByRole("button", { name: "Remove @image1" }).click();
    assert.equal(
      await page
        .getByRole("listitem")
        .filter({ has: page.getByRole("img") })
        .count(),
      0,
    );
    // Without media the ratio is the model's text default again.
    const model = models.find((m) => m.id === REFERENCE_MODEL)!;
    assert.equal(await page.getByLabel("Ratio").inputValue(), model.ratios.default);
    assert.doesNotMatch(await page.locator("#copy-as-code").innerText(), /"image_url"/);
    assertClean(report);
  });

  test("an API error shows on the field its param names: prompt, and an image's role", async () => {
    const { page, report } = await openPlayground(h, REFERENCE_MODEL);
    await page.getByLabel("Image", { exact: true }).setInputFiles(LANDSCAPE);
    await uploaded(page, "@image1");
    await page.getByLabel("Prompt", { exact: true }).fill("@image2 walks through @image1");
    await page.getByRole("button", { name: "Generate" }).click();
    const promptField = page.locator(".field").filter({ has: page.locator("#playground-prompt") });
    await promptField.locator("[data-field-error]").filter({ hasText: "@image2" }).waitFor();
    assert.equal(await page.locator("[data-field-error]").count(), 1);
    assert.equal(await page.locator(".error-note").count(), 0);
    assert.equal(await page.getByLabel("Prompt", { exact: true }).getAttribute("aria-invalid"), "true");
    // Editing the prompt clears its error.
    await page.getByLabel("Prompt", { exact: true }).fill("@image1 walks");
    assert.equal(await promptField.locator("[data-field-error]").count(), 0);

    // A frames model: a lone last_frame is refused with param metadata.content[0].role.
    await page.getByLabel("Model").selectOption(FRAMES_MODEL);
    assert.deepEqual(await optionValues(page, "Role of @image1"), ["first_frame", "last_frame"]);
    await page.getByLabel("Role of @image1").selectOption("last_frame");
    await page.getByRole("button", { name: "Generate" }).click();
    const thumb = page.locator("li.thumb").filter({ has: page.getByLabel("Role of @image1") });
    await thumb.locator("[data-field-error]").filter({ hasText: "first_frame" }).waitFor();
    assert.equal(await page.locator(".error-note").count(), 0);
    assert.ok(report.refusedRequests.length >= 2, report.refusedRequests.join("\n"));
    assertClean(report);
  });

  test("copy as curl, Python and TypeScript: the exact body sent, the origin, never the key", async () => {
    const { page, report, context } = await openPlayground(h, REFERENCE_MODEL);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: h.gateway.url });
    const prompt = `A "lighthouse" at dusk, it's windy`;
    await page.getByLabel("Prompt", { exact: true }).fill(prompt);
    await page.getByLabel("Seconds").selectOption("4");
    await page.getByLabel("Ratio").selectOption("9:16");
    await page.getByLabel("Generate audio").uncheck();
    await page.getByLabel("Seed").fill("42");

    const code = page.locator("#copy-as-code");
    const texts: Record<string, string> = {};
    for (const tab of ["curl", "Python", "TypeScript"]) {
      await page.getByRole("tab", { name: tab }).click();
      texts[tab] = await code.innerText();
      assert.ok(!texts[tab]!.includes(h.gateway.key), `${tab} shows the API key`);
      assert.ok(texts[tab]!.includes("VIDRELAY_API_KEY"), tab);
      assert.ok(texts[tab]!.includes(REFERENCE_MODEL), tab);
      // In curl the body is one single-quoted shell word, so its ' is written '\''.
      const cited = tab === "curl" ? JSON.stringify(prompt).replaceAll("'", "'\\''") : JSON.stringify(prompt);
      assert.ok(texts[tab]!.includes(cited), `${tab} lacks the prompt:\n${texts[tab]}`);
      assert.ok(texts[tab]!.includes(h.gateway.url), tab);
    }
    assert.match(
      texts.curl!,
      /^curl -X POST '.*\/v1\/video\/generations' \\\n {2}-H "Authorization: Bearer \$VIDRELAY_API_KEY"/,
    );
    assert.match(texts.Python!, /import requests[\s\S]*requests\.post\(/);
    assert.match(texts.Python!, /"generate_audio": False/);
    assert.match(texts.TypeScript!, /from "@vidrelay\/sdk"[\s\S]*client\.videos\.create\(/);

    // The curl body, unquoted the way a shell would, is exactly what Generate sends.
    const quoted = /-d '([\s\S]*)'$/.exec(texts.curl!)![1]!.replaceAll("'\\''", "'");
    const expected = JSON.parse(quoted);
    assert.deepEqual(expected, {
      model: REFERENCE_MODEL,
      prompt,
      seconds: "4",
      metadata: { ratio: "9:16", resolution: "480p", generate_audio: false, seed: 42 },
    });
    await page.getByRole("tab", { name: "curl" }).click();
    await page.getByRole("button", { name: "Copy", exact: true }).click();
    await page.getByRole("button", { name: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), texts.curl);

    const request = page.waitForRequest(
      (r) => r.url().endsWith("/v1/video/generations") && r.method() === "POST",
    );
    await page.getByRole("button", { name: "Generate" }).click();
    assert.deepEqual(JSON.parse((await request).postData()!), expected);
    await page.getByText("the request that was sent").waitFor();
    assertClean(report);
  });

  test("the estimate of the current request shows before Generate and follows the form", async () => {
    const { page, report } = await openPlayground(h, FRAMES_MODEL);
    await page.getByLabel("Prompt").fill("a lighthouse at dusk");
    const estimate = page.getByRole("status", { name: "Estimate" });
    await estimate.filter({ hasText: /^5 s at 720p: / }).waitFor();
    assert.match(
      (await estimate.textContent()) ?? "",
      /^5 s at 720p: (free \(local\)|\d+\.\d{4} USD held \(local\))$/,
    );
    await page.getByLabel("Seconds").selectOption("8");
    await estimate.filter({ hasText: /^8 s at 720p: / }).waitFor();
    const listed = (await (await h.gateway.api("/v1/video/generations")).json()) as { data: Task[] };
    assert.equal(
      listed.data.filter((t) => t.prompt === "a lighthouse at dusk").length,
      0,
      "asking creates nothing",
    );
    assertClean(report);
  });

  test("the model's capabilities drive the form", async () => {
    const first = models.find((m) => m.id === REFERENCE_MODEL)!;
    const other = models.find(
      (m) =>
        m.seconds.min !== first.seconds.min &&
        JSON.stringify(m.ratios.values) !== JSON.stringify(first.ratios.values) &&
        m.audio.mode !== "optional",
    )!;
    assert.ok(other, "two models with different limits");
    const { page, report } = await openPlayground(h, first.id);
    for (const model of [first, other, first]) {
      await page.getByLabel("Model").selectOption(model.id);
      const seconds = [];
      for (let s = model.seconds.min; s <= model.seconds.max; s++) seconds.push(String(s));
      assert.deepEqual(await optionValues(page, "Seconds"), seconds, model.id);
      assert.deepEqual(await optionValues(page, "Ratio"), model.ratios.values, model.id);
      assert.deepEqual(await optionValues(page, "Resolution"), model.resolutions.values, model.id);
      assert.equal(await page.getByLabel("Seconds").inputValue(), String(model.seconds.default));
      assert.equal(await page.getByLabel("Ratio").inputValue(), model.ratios.default);
      assert.equal(await page.getByLabel("Resolution").inputValue(), model.resolutions.default);
      assert.equal(await page.getByLabel("Generate audio").count(), model.audio.mode === "optional" ? 1 : 0);
    }
    // A text-only model takes no images; a reference model takes its references.images.
    const textOnly = models.find((m) => m.modes.length === 1 && m.modes[0] === "text")!;
    await page.getByLabel("Model").selectOption(textOnly.id);
    assert.ok(await page.getByLabel("Image", { exact: true }).isDisabled());
    await page.getByLabel("Model").selectOption(first.id);
    assert.match(
      await page.locator("#playground-media-hint").innerText(),
      new RegExp(`up to ${first.references.images} images`),
    );
    assertClean(report);
  });

  test("Fit appears for a model that conforms its first frame, with a fixed ratio, and goes into the request", async () => {
    const i2v = models.find((m) => m.parameters.fit.supported)!;
    assert.ok(i2v, "a model with parameters.fit");
    const { page, report } = await openPlayground(h, i2v.id);
    const body = async () => {
      await page.getByRole("tab", { name: "curl" }).click();
      const text = await page.locator("#copy-as-code").innerText();
      return JSON.parse(/-d '([\s\S]*)'$/.exec(text)![1]!.replaceAll("'\\''", "'")) as {
        metadata: Record<string, unknown>;
      };
    };
    await page.getByLabel("Prompt", { exact: true }).fill("the camera holds");
    await page.getByLabel("Ratio").selectOption("adaptive");
    assert.equal(await page.getByLabel("Fit").count(), 0, "adaptive follows the image: nothing to fit");
    await page.getByLabel("Ratio").selectOption("16:9");
    assert.equal(await page.getByLabel("Fit").inputValue(), "crop");
    assert.equal((await body()).metadata.fit, undefined, "the default is not sent");
    await page.getByLabel("Fit").selectOption("pad");
    assert.equal((await body()).metadata.fit, "pad");
    // A model without the parameter shows no Fit.
    await page.getByLabel("Model").selectOption(models.find((m) => !m.parameters.fit.supported)!.id);
    assert.equal(await page.getByLabel("Fit").count(), 0);
    assert.equal((await body()).metadata.fit, undefined);
    assertClean(report);
  });

  test("keyboard only, and a 375 px phone screen without horizontal scrolling", async () => {
    const { page, report } = await h.open({ viewport: { width: 375, height: 740 } });
    await page.goto("/console/");
    await page.getByLabel("API key").fill(h.gateway.key);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Playground" }).waitFor();
    await page.getByLabel("Model").selectOption(REFERENCE_MODEL);
    await page.getByLabel("Image", { exact: true }).setInputFiles([LANDSCAPE, GREY]);
    await uploaded(page, "@image2");
    // Tab reaches the Insert button of @image1 and Enter puts the tag into the prompt.
    await page.getByLabel("Role of @image1").focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    assert.equal(await page.getByLabel("Prompt", { exact: true }).inputValue(), "@image1 ");
    assert.equal(await page.evaluate(() => document.activeElement?.id), "playground-prompt");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the playground is ${overflow}px wider than the screen`);
    // Arrow keys move between the "copy as" tabs.
    await page.getByRole("tab", { name: "curl" }).focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.getByRole("tab", { name: "Python" }).getAttribute("aria-selected"), "true");
    assertClean(report);
  });
});
