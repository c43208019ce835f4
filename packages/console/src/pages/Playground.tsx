/**
 * Playground: pick a model, add reference media, write a prompt, Generate — then watch the task and
 * play the result. The form is built from the model's capabilities (GET /v1/models), every request
 * goes through `@vidrelay/sdk`, and an API error's `param` puts its message on the field it names.
 */
import type { Model } from "@vidrelay/sdk";
import { type RefObject, useMemo, useRef, useState } from "react";
import { SelectField, submitWith } from "../components/form.tsx";
import { ErrorNote, Field, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { CopyAs } from "./playground/CopyAs.tsx";
import { EstimateLine } from "./playground/EstimateLine.tsx";
import { MediaPicker } from "./playground/MediaPicker.tsx";
import { ModelSettings } from "./playground/ModelSettings.tsx";
import { insertTag } from "./playground/media.ts";
import { buildRequest, type FormState, imageRoles, mediaLimits, mediaTags } from "./playground/request.ts";
import { TaskResult } from "./playground/TaskResult.tsx";
import { usePlaygroundForm } from "./playground/usePlaygroundForm.ts";
import "./playground/playground.css";

export function PlaygroundPage() {
  const { client } = useSession();
  const models = useLoad((signal) => client.models.list({ signal }), [client]);
  const { form, model, update, chooseModel, addFiles, removeMedia, setRole, notice, errors } =
    usePlaygroundForm(client, models.data);
  const [submitting, setSubmitting] = useState(false);
  const [taskId, setTaskId] = useState<string | null>(null);
  const [sentBody, setSentBody] = useState<string | null>(null);
  const promptRef = useRef<HTMLTextAreaElement>(null);
  const body = useMemo(() => buildRequest(form, model), [form, model]);
  const uploading = form.media.some((m) => !m.file && !m.error);

  /** Put `@image1` at the caret (with spaces around it as needed) and keep typing from there. */
  const insertAtCaret = (tag: string) => {
    const area = promptRef.current;
    const end = form.prompt.length;
    const next = insertTag(form.prompt, area?.selectionStart ?? end, area?.selectionEnd ?? end, tag);
    update({ prompt: next.text }, "prompt");
    requestAnimationFrame(() => {
      area?.focus();
      area?.setSelectionRange(next.caret, next.caret);
    });
  };

  const submit = async () => {
    if (!model || uploading || submitting) return;
    errors.clear();
    setSubmitting(true);
    try {
      const created = await client.videos.create(body);
      setSentBody(JSON.stringify(body));
      setTaskId(created.task_id);
    } catch (error) {
      errors.show(error, form.media);
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <section>
      <PageHeader title="Playground" />
      <ErrorNote error={models.error} title="Could not load the models" />
      <div className="grid-2 playground">
        <form className="panel" onSubmit={submitWith(submit)} noValidate aria-label="Generate a video">
          <SelectField
            label="Model"
            id="playground-model"
            error={errors.fields.model}
            hint={model?.description}
            value={form.model}
            disabled={!models.data}
            onChange={(event) => chooseModel(event.target.value)}
            options={
              models.data?.map((m) => ({
                value: m.id,
                label: m.name && m.name !== m.id ? `${m.name} (${m.id})` : m.id,
              })) ?? [{ value: "", label: "Loading models…" }]
            }
          />
          <MediaPicker
            media={form.media}
            tags={mediaTags(form.media)}
            limits={mediaLimits(model)}
            roles={imageRoles(model)}
            errors={errors.media}
            fieldError={errors.fields.media ?? null}
            notice={notice}
            onAdd={addFiles}
            onRemove={removeMedia}
            onRole={setRole}
            onInsert={insertAtCaret}
          />
          <PromptField
            model={model}
            form={form}
            error={errors.fields.prompt}
            areaRef={promptRef}
            onChange={(prompt) => update({ prompt }, "prompt")}
          />
          {model ? <ModelSettings model={model} form={form} errors={errors.fields} update={update} /> : null}
          <ErrorNote error={errors.form} />
          <div className="playground-actions">
            <button type="submit" disabled={!model || uploading || submitting}>
              {submitting ? "Submitting…" : "Generate"}
            </button>
            {uploading ? <span className="muted">Waiting for uploads…</span> : null}
            <EstimateLine client={client} body={body} enabled={Boolean(model) && !uploading} />
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

/** The prompt, with its length against the model's maximum and how to cite media. */
function PromptField({
  model,
  form,
  error,
  areaRef,
  onChange,
}: {
  model: Model | undefined;
  form: FormState;
  error: string | undefined;
  areaRef: RefObject<HTMLTextAreaElement | null>;
  onChange(prompt: string): void;
}) {
  const hint = model
    ? `${form.prompt.length} / ${model.prompt.max_length}` +
      (form.media.length ? ". Cite media by tag: @image1, @image2…" : "") +
      (model.prompt.required === "always" ? ". Required." : "")
    : undefined;
  return (
    <Field label="Prompt" htmlFor="playground-prompt" error={error} hint={hint}>
      <textarea
        id="playground-prompt"
        ref={areaRef}
        value={form.prompt}
        maxLength={model?.prompt.max_length}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? "playground-prompt-error" : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
    </Field>
  );
}
