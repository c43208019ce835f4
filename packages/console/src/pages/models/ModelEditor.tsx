/**
 * "Add model" and "Edit model": the declaration as JSON (a copy of a chosen model's for a new one,
 * the model's own for an edit), upstream ids per channel and a note, sent whole with
 * `PUT /v1/admin/models/{id}` (a new model, or the model's next version). A refused field is named
 * under the editor and selected in its text.
 */
import type { Channel, ModelDeclarationParams, ModelEntry, VidRelay } from "@vidrelay/sdk";
import { type RefObject, useEffect, useRef, useState } from "react";
import {
  FormActions,
  formErrors,
  SelectField,
  submitWith,
  TextField,
  useAction,
} from "../../components/form.tsx";
import { errorParam, Field } from "../../components/ui.tsx";
import {
  channelOfParam,
  copyId,
  declarationText,
  EditorError,
  fieldOfParam,
  locateParam,
  type ModelField,
  messageWithParam,
  parseDeclaration,
} from "./declaration.ts";
import { type UpstreamRow, UpstreamRows, upstreamModelsOf, upstreamRowsOf } from "./UpstreamRows.tsx";

export function ModelEditor({
  client,
  models,
  channels,
  editing,
  onSaved,
  onCancel,
}: {
  client: VidRelay;
  /** Every model: the ones a new model may start from, and the ids already taken. */
  models: readonly ModelEntry[];
  channels: readonly Channel[];
  /** The model to edit; absent to add one. */
  editing?: ModelEntry;
  onSaved(entry: ModelEntry): void;
  onCancel(): void;
}) {
  const taken = models.map((m) => m.id);
  const [sourceId, setSourceId] = useState(() => editing?.id ?? models[0]?.id ?? "");
  const [id, setId] = useState(() => editing?.id ?? copyId(sourceId, taken));
  const [text, setText] = useState(() => {
    const source = editing ?? models.find((m) => m.id === sourceId);
    return source ? declarationText(source, !editing) : "{}";
  });
  const [rows, setRows] = useState<UpstreamRow[]>(() => upstreamRowsOf(editing?.upstream_models));
  const [note, setNote] = useState("");
  const area = useRef<HTMLTextAreaElement>(null);
  const sourceRef = useRef<HTMLSelectElement>(null);
  // Keyboard users land in the form that opened: on "Start from", or in the declaration to edit.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the editor opens
  useEffect(() => {
    (editing ? area.current : sourceRef.current)?.focus();
  }, []);

  const save = useAction(async () => {
    try {
      const modelId = checkedId(id, editing ? undefined : taken);
      onSaved(await client.admin.models.put(modelId, putParams(text, note, rows)));
    } catch (error) {
      selectRefused(area.current, text, error);
      throw error;
    }
  });
  const errors = editorErrors(save.error);
  const title = editing ? `Edit model ${editing.id}` : "Add model";

  const pickSource = (next: string) => {
    const source = models.find((m) => m.id === next);
    setSourceId(next);
    setId(copyId(next, taken));
    if (source) setText(declarationText(source, true));
  };

  return (
    <form className="panel model-editor" onSubmit={submitWith(save.run)} aria-labelledby="model-editor-title">
      <h2 id="model-editor-title">{title}</h2>
      <div className="row">
        {editing ? null : (
          <SelectField
            id="model-source"
            label="Start from"
            hint="Its declaration fills the editor (your edits are replaced)."
            ref={sourceRef}
            value={sourceId}
            onChange={(e) => pickSource(e.target.value)}
            options={models.map((m) => ({ value: m.id, label: `${m.id} (${m.declaration.name})` }))}
          />
        )}
        <TextField
          label="Model id"
          {...errors.field("model-id")}
          hint={editing ? "Saving writes its next version." : "Lower-case letters, digits, '.', '_' and '-'."}
          value={id}
          readOnly={Boolean(editing)}
          onChange={(e) => setId(e.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
      </div>
      <DeclarationField
        ref={area}
        text={text}
        setText={setText}
        error={errors.on("model-declaration")}
        param={errors.param}
      />
      <UpstreamRows
        channels={channels}
        rows={rows}
        setRows={setRows}
        error={errors.on("model-upstream")}
        invalidChannel={channelOfParam(errors.param)}
      />
      <TextField
        label="Note (optional)"
        {...errors.field("model-note")}
        hint="Why: kept with this version."
        value={note}
        onChange={(e) => setNote(e.target.value)}
        maxLength={500}
      />
      <FormActions
        error={errors.general}
        errorTitle={editing ? "Not saved" : "Not added"}
        busy={save.busy}
        submit={editing ? "Save version" : "Add model"}
        busySubmit="Saving…"
        onCancel={onCancel}
      />
    </form>
  );
}

/** The id to PUT: not empty, and for a new model not one that `taken` already has. */
function checkedId(text: string, taken: readonly string[] | undefined): string {
  const id = text.trim();
  if (!id) throw new EditorError("model-id", "Enter the model's id.");
  if (taken?.includes(id)) {
    throw new EditorError("model-id", `A model ${id} already exists: use its Edit button.`);
  }
  return id;
}

/** The PUT's body: the declaration as written, its note, and the upstream ids picked. */
function putParams(text: string, note: string, rows: readonly UpstreamRow[]): ModelDeclarationParams {
  const upstream = upstreamModelsOf(rows);
  return {
    ...parseDeclaration(text),
    ...(note.trim() ? { note: note.trim() } : {}),
    ...(Object.keys(upstream).length ? { upstream_models: upstream } : {}),
  } as unknown as ModelDeclarationParams;
}

/** The declaration's JSON, with the API's message for it underneath (the refused param in `data-param`). */
function DeclarationField({
  ref,
  text,
  setText,
  error,
  param,
}: {
  ref: RefObject<HTMLTextAreaElement | null>;
  text: string;
  setText(text: string): void;
  error: string | null;
  param: string | undefined;
}) {
  return (
    <Field
      label="Declaration (JSON)"
      htmlFor="model-declaration"
      error={error}
      hint="Modes, seconds, resolutions, ratios, audio, references, parameters and price lines, as GET /v1/admin/models/{id} shows them."
    >
      <textarea
        id="model-declaration"
        ref={ref}
        className="code-editor"
        rows={22}
        spellCheck={false}
        autoComplete="off"
        value={text}
        onChange={(e) => setText(e.target.value)}
        data-param={error ? param : undefined}
        {...(error ? { "aria-invalid": true, "aria-describedby": "model-declaration-error" } : {})}
      />
    </Field>
  );
}

/** Select the part of the declaration's text a submit's error names, and scroll it into view. */
function selectRefused(el: HTMLTextAreaElement | null, text: string, error: unknown): void {
  const param = errorParam(error);
  const span =
    error instanceof EditorError
      ? error.span
      : param && fieldOfParam(param) === "model-declaration"
        ? locateParam(text, param)
        : undefined;
  if (!el || !span) return;
  el.focus({ preventScroll: true });
  el.setSelectionRange(span.start, span.end);
  const line = el.value.slice(0, span.start).split("\n").length;
  const height = Number.parseFloat(getComputedStyle(el).lineHeight) || 20;
  el.scrollTop = Math.max(0, line * height - el.clientHeight / 2);
  el.scrollIntoView({ block: "center" });
}

/** The submit's error on the field it concerns: the editor's own checks, or the API's `param`. */
function editorErrors(error: unknown) {
  if (error instanceof EditorError) {
    const on = (name: ModelField) => (name === error.field ? error.message : null);
    return {
      on,
      field: (name: ModelField) => ({ id: name, error: on(name) }),
      general: null,
      param: undefined,
    };
  }
  const param = errorParam(error);
  const form = formErrors<ModelField>(error, fieldOfParam);
  const on = (name: ModelField) => {
    const message = form.on(name);
    return message === null ? null : messageWithParam(message, param);
  };
  return { on, field: (name: ModelField) => ({ id: name, error: on(name) }), general: form.general, param };
}
