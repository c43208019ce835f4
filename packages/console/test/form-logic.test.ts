/**
 * The console's pure form logic, without a browser: which picked files a playground model takes,
 * the roles after a change of model, a tag put in the prompt, the Tasks page's URL query, and a
 * submit error split onto the field the API named.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Model, VidRelayError } from "@vidrelay/sdk";
import { formErrors } from "../src/components/form.tsx";
import {
  admitFiles,
  insertTag,
  kindOf,
  refusedNotice,
  rolesForModel,
} from "../src/pages/playground/media.ts";
import type { MediaItem } from "../src/pages/playground/request.ts";
import { pageLabel, pageSizes, queryPath, readQuery } from "../src/pages/tasks/query.ts";

/** Only what the media rules read of a model. */
function model(id: string, modes: string[], images: number, videos = 0, audios = 0): Model {
  return {
    id,
    modes,
    references: { images, videos, audios },
    ratios: { default: "16:9", default_with_media: "adaptive", values: ["16:9", "adaptive"] },
  } as unknown as Model;
}
const reference = model("ref", ["text", "reference"], 4, 1, 1);
const frames = model("frames", ["text", "first_frame", "first_last_frame"], 0);
const textOnly = model("text", ["text"], 0);

const file = (name: string, type: string) => ({ name, type });
const item = (key: string, kind: MediaItem["kind"], role: MediaItem["role"]): MediaItem => ({
  key,
  kind,
  role,
  name: key,
  preview: "",
});

describe("playground media", () => {
  test("kindOf reads the MIME type; anything else counts as an image", () => {
    assert.equal(kindOf(file("a.mp4", "video/mp4")), "video");
    assert.equal(kindOf(file("a.wav", "audio/wav")), "audio");
    assert.equal(kindOf(file("a.png", "image/png")), "image");
    assert.equal(kindOf(file("a", "")), "image");
  });

  test("a reference model takes images as references and refuses what is over its limits", () => {
    const { admitted, refused } = admitFiles(
      [file("1.png", "image/png"), file("v1.mp4", "video/mp4"), file("v2.mp4", "video/mp4")],
      [item("m0", "image", "reference_image")],
      reference,
    );
    assert.deepEqual(
      admitted.map((a) => [a.file.name, a.kind, a.role]),
      [
        ["1.png", "image", "reference_image"],
        ["v1.mp4", "video", "reference_video"],
      ],
    );
    assert.deepEqual(refused, ["v2.mp4"]);
    assert.equal(
      refusedNotice(reference, refused),
      "ref takes at most 4 images, 1 videos and 1 audio tracks; not added: v2.mp4.",
    );
    assert.equal(refusedNotice(reference, []), null);
  });

  test("a frames model gives the first image the first frame, the second the last, a third is refused", () => {
    const { admitted, refused } = admitFiles(
      [file("a.png", "image/png"), file("b.png", "image/png"), file("c.png", "image/png")],
      [],
      frames,
    );
    assert.deepEqual(
      admitted.map((a) => a.role),
      ["first_frame", "last_frame"],
    );
    assert.deepEqual(refused, ["c.png"]);
    assert.equal(refusedNotice(textOnly, ["a.png"]), "text takes at most 0 images; not added: a.png.");
  });

  test("a change of model re-assigns only the roles the new model does not accept", () => {
    const media = [
      item("a", "image", "reference_image"),
      item("v", "video", "reference_video"),
      item("b", "image", "reference_image"),
    ];
    assert.deepEqual(
      rolesForModel(media, frames).map((m) => m.role),
      ["first_frame", "reference_video", "last_frame"],
    );
    const framed = [item("a", "image", "first_frame"), item("b", "image", "last_frame")];
    assert.deepEqual(
      rolesForModel(framed, reference).map((m) => m.role),
      ["reference_image", "reference_image"],
    );
    assert.deepEqual(rolesForModel(framed, frames), framed);
  });

  test("insertTag puts the tag at the caret with one space on each side", () => {
    assert.deepEqual(insertTag("Slow push-in on", 15, 15, "@image1"), {
      text: "Slow push-in on @image1 ",
      caret: 24,
    });
    assert.deepEqual(insertTag("", 0, 0, "@image1"), { text: "@image1 ", caret: 8 });
    assert.deepEqual(insertTag("a  b", 2, 2, "@video1"), { text: "a @video1 b", caret: 9 });
    // A selection is replaced.
    assert.deepEqual(insertTag("the cat runs", 4, 7, "@image2"), { text: "the @image2 runs", caret: 11 });
  });
});

describe("tasks list query", () => {
  test("readQuery keeps what the API accepts and falls back to the defaults", () => {
    assert.deepEqual(readQuery(new URLSearchParams("status=running&model=m&limit=50&after=c1")), {
      status: "running",
      model: "m",
      limit: 50,
      after: "c1",
    });
    assert.deepEqual(readQuery(new URLSearchParams("status=bogus&limit=500")), {
      status: "",
      model: "",
      limit: 20,
      after: "",
    });
    assert.equal(readQuery(new URLSearchParams("limit=2.5")).limit, 20);
  });

  test("queryPath leaves defaults out and reads back the same query", () => {
    assert.equal(queryPath({ status: "", model: "", limit: 20, after: "" }), "/tasks");
    const q = { status: "failed", model: "a b", limit: 7, after: "cur" } as const;
    const path = queryPath(q);
    assert.equal(path, "/tasks?status=failed&model=a+b&limit=7&after=cur");
    assert.deepEqual(readQuery(new URLSearchParams(path.split("?")[1])), q);
  });

  test("page sizes offer a link's own size in order; the page label knows only the pages walked", () => {
    assert.deepEqual(pageSizes(20), [10, 20, 50, 100]);
    assert.deepEqual(pageSizes(7), [7, 10, 20, 50, 100]);
    assert.deepEqual(pageSizes(30), [10, 20, 30, 50, 100]);
    assert.equal(pageLabel("", []), "Page 1");
    assert.equal(pageLabel("c2", ["", "c1"]), "Page 3");
    assert.equal(pageLabel("c2", []), "A later page");
  });
});

describe("form errors", () => {
  const fieldOf = (param: string) => (param === "name" ? ("key-name" as const) : undefined);

  test("an error whose param names a field shows on that field only", () => {
    const form = formErrors(new VidRelayError("name is too long", { status: 400, param: "name" }), fieldOf);
    assert.equal(form.on("key-name"), "name is too long");
    assert.deepEqual(form.field("key-name"), { id: "key-name", error: "name is too long" });
    assert.equal(form.general, null);
  });

  test("any other error is the form's own", () => {
    const other = new VidRelayError("no such account", { status: 404, param: "account_id" });
    assert.equal(formErrors(other, fieldOf).on("key-name"), null);
    assert.equal(formErrors(other, fieldOf).general, other);
    const plain = new Error("offline");
    assert.equal(formErrors(plain, fieldOf).general, plain);
    assert.equal(formErrors(null, fieldOf).general, null);
  });
});
