/**
 * Playground: pick a model, add reference media, write a prompt, Generate — then watch the task and
 * play the result. The form is built from the model's capabilities (GET /v1/models), every request
 * goes through `@vidrelay/sdk`, and an API error's `param` puts its message on the field it names.
 */
import type { ImageRole, Model } from "@vidrelay/sdk";
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { ErrorNote, errorParam, errorText, Field, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { CopyAs } from "./playground/CopyAs.tsx";
import { type MediaErrors, MediaPicker } from "./playground/MediaPicker.tsx";
import { ModelSettings } from "./playground/ModelSettings.tsx";
import {
  buildRequest,
  defaultImageRole,
  errorTarget,
  type FormState,
  imageRoles,
  type MediaItem,
  type MediaKind,
  mediaLimits,
  mediaTags,
  modelDefaults,
} from "./playground/request.ts";
import { TaskResult } from "./playground/TaskResult.tsx";
import "./playground/playground.css";

const EMPTY_FORM: FormState = {
  model: "",
  prompt: "",
  seconds: "",
  ratio: "",
  resolution: "",
  generateAudio: false,
  fit: "",
  seed: "",
  media: [],
};

function kindOf(file: File): MediaKind {
  if (file.type.startsWith("video/")) return "video";
  if (file.type.startsWith("audio/")) return "audio";
  return "image";
}

let nextKey = 0;

export function PlaygroundPage() {
  const { client } = useSession();
  const models = useLoad((signal) => client.models.list({ signal }), [client]);
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [mediaErrors, setMediaErrors] = useState<MediaErrors>({});
  const [formError, setFormError] = useState<unknown>();
  const [notice, setNotice] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [taskId, setTaskId] = useState<string | null>(null);
  const [sentBody, setSentBody] = useState<string | null>(null);
  // Until the user picks a ratio, it follows the model's default for "with media" or "text only".
  const [ratioChosen, setRatioChosen] = useState(false);
  const promptRef = useRef<HTMLTextAreaElement>(null);

  const model: Model | undefined = models.data?.find((m) => m.id === form.model);
  const limits = mediaLimits(model);
  const roles = imageRoles(model);
  const tags = mediaTags(form.media);
  const body = useMemo(() => buildRequest(form, model), [form, model]);
  const uploading = form.media.some((m) => !m.file && !m.error);

  // Object URLs of thumbnails are released when the page goes away.
  const mediaRef = useRef(form.media);
  mediaRef.current = form.media;
  useEffect(
    () => () => {
      for (const m of mediaRef.current) URL.revokeObjectURL(m.preview);
    },
    [],
  );

  const clearErrors = () => {
    setFieldErrors({});
    setMediaErrors({});
    setFormError(undefined);
  };
  const update = (patch: Partial<FormState>, field?: string) => {
    setForm((f) => ({ ...f, ...patch }));
    if (field === "ratio") setRatioChosen(true);
    if (field && fieldErrors[field]) setFieldErrors(({ [field]: _, ...rest }) => rest);
  };

  const chooseModel = (id: string) => {
    const next = models.data?.find((m) => m.id === id);
    if (!next) return;
    setForm((f) => {
      // Re-assign image roles the new model does not accept (frames in order, or references).
      const images: MediaItem[] = [];
      const allowed = imageRoles(next);
      const media = f.media.map((m) => {
        if (m.kind !== "image") return m;
        const role = allowed.includes(m.role as ImageRole) ? m.role : defaultImageRole(next, images);
        const item = { ...m, role };
        images.push(item);
        return item;
      });
      return { ...f, model: id, media, ...modelDefaults(next, f.media.length > 0) };
    });
    clearErrors();
    setNotice(null);
    setRatioChosen(false);
  };

  // The first model is chosen once the list arrives.
  const firstModel = models.data?.[0]?.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: chooseModel reads the loaded list
  useEffect(() => {
    if (firstModel && !form.model) chooseModel(firstModel);
  }, [firstModel]);

  const addFiles = (files: File[]) => {
    const counts: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
    for (const m of form.media) counts[m.kind]++;
    const refused: string[] = [];
    const added: MediaItem[] = [];
    const images = form.media.filter((m) => m.kind === "image");
    for (const file of files) {
      const kind = kindOf(file);
      if (counts[kind] >= limits[kind]) {
        refused.push(file.name);
        continue;
      }
      counts[kind]++;
      const role =
        kind === "image"
          ? defaultImageRole(model, images)
          : kind === "video"
            ? "reference_video"
            : "reference_audio";
      const item: MediaItem = {
        key: `m${nextKey++}`,
        kind,
        name: file.name,
        preview: URL.createObjectURL(file),
        role,
      };
      if (kind === "image") images.push(item);
      added.push(item);
      client.files.upload(file).then(
        (uploaded) =>
          setForm((f) => ({
            ...f,
            media: f.media.map((m) =>
              m.key === item.key ? { ...m, file: uploaded, kind: uploaded.kind ?? m.kind } : m,
            ),
          })),
        (error: unknown) =>
          setForm((f) => ({ ...f, media: f.media.map((m) => (m.key === item.key ? { ...m, error } : m)) })),
      );
    }
    setNotice(
      refused.length
        ? `${model?.id ?? "This model"} takes at most ${limits.image} image${limits.image === 1 ? "" : "s"}` +
            `${limits.video ? `, ${limits.video} videos and ${limits.audio} audio tracks` : ""}; ` +
            `not added: ${refused.join(", ")}.`
        : null,
    );
    if (added.length) {
      const ratio = !ratioChosen && model ? model.ratios.default_with_media : form.ratio;
      setForm((f) => ({ ...f, ratio, media: [...f.media, ...added] }));
      setMediaErrors({});
      setFieldErrors(({ media: _, ...rest }) => rest);
    }
  };

  const removeMedia = (key: string) => {
    const item = form.media.find((m) => m.key === key);
    if (item) URL.revokeObjectURL(item.preview);
    setForm((f) => {
      const media = f.media.filter((m) => m.key !== key);
      const ratio = !ratioChosen && model && !media.length ? model.ratios.default : f.ratio;
      return { ...f, ratio, media };
    });
    setMediaErrors({});
    setNotice(null);
  };

  const setRole = (key: string, role: ImageRole) => {
    setForm((f) => ({ ...f, media: f.media.map((m) => (m.key === key ? { ...m, role } : m)) }));
    setMediaErrors({});
  };

  /** Put `@image1` at the caret (with spaces around it as needed) and keep typing from there. */
  const insertTag = (tag: string) => {
    const area = promptRef.current;
    const text = form.prompt;
    const start = area?.selectionStart ?? text.length;
    const end = area?.selectionEnd ?? text.length;
    const before = text.slice(0, start);
    const after = text.slice(end);
    const insert = `${before && !/\s$/.test(before) ? " " : ""}${tag}${/^\s/.test(after) ? "" : " "}`;
    update({ prompt: before + insert + after }, "prompt");
    const caret = before.length + insert.length;
    requestAnimationFrame(() => {
      area?.focus();
      area?.setSelectionRange(caret, caret);
    });
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!model || uploading || submitting) return;
    clearErrors();
    setSubmitting(true);
    try {
      const created = await client.videos.create(body);
      setSentBody(JSON.stringify(body));
      setTaskId(created.task_id);
    } catch (error) {
      const target = errorTarget(errorParam(error), form.media);
      if (target && "field" in target) setFieldErrors({ [target.field]: errorText(error) });
      else if (target) setMediaErrors({ [target.media]: { [target.what]: errorText(error) } });
      else setFormError(error);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <section>
      <PageHeader title="Playground" />
      <ErrorNote error={models.error} title="Could not load the models" />
      <div className="grid-2 playground">
        <form className="panel" onSubmit={submit} noValidate aria-label="Generate a video">
          <Field label="Model" htmlFor="playground-model" error={fieldErrors.model} hint={model?.description}>
            <select
              id="playground-model"
              value={form.model}
              disabled={!models.data}
              onChange={(event) => chooseModel(event.target.value)}
            >
              {!models.data ? <option value="">Loading models…</option> : null}
              {models.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id}
                </option>
              ))}
            </select>
          </Field>
          <MediaPicker
            media={form.media}
            tags={tags}
            limits={limits}
            roles={roles}
            errors={mediaErrors}
            fieldError={fieldErrors.media ?? null}
            notice={notice}
            onAdd={addFiles}
            onRemove={removeMedia}
            onRole={setRole}
            onInsert={insertTag}
          />
          <Field
            label="Prompt"
            htmlFor="playground-prompt"
            error={fieldErrors.prompt}
            hint={
              model
                ? `${form.prompt.length} / ${model.prompt.max_length}` +
                  (form.media.length ? ". Cite media by tag: @image1, @image2…" : "") +
                  (model.prompt.required === "always" ? ". Required." : "")
                : undefined
            }
          >
            <textarea
              id="playground-prompt"
              ref={promptRef}
              value={form.prompt}
              maxLength={model?.prompt.max_length}
              aria-invalid={fieldErrors.prompt ? true : undefined}
              aria-describedby={fieldErrors.prompt ? "playground-prompt-error" : undefined}
              onChange={(event) => update({ prompt: event.target.value }, "prompt")}
            />
          </Field>
          {model ? <ModelSettings model={model} form={form} errors={fieldErrors} update={update} /> : null}
          <ErrorNote error={formError} />
          <div className="playground-actions">
            <button type="submit" disabled={!model || uploading || submitting}>
              {submitting ? "Submitting…" : "Generate"}
            </button>
            {uploading ? <span className="muted">Waiting for uploads…</span> : null}
          </div>
        </form>
        <div className="playground-side">
          {taskId ? <TaskResult key={taskId} client={client} taskId={taskId} /> : null}
          {model ? (
            <CopyAs origin={client.baseURL} body={body} sent={sentBody === JSON.stringify(body)} />
          ) : null}
        </div>
      </div>
    </section>
  );
}
