/**
 * Reference media: a drop zone and file inputs, then one thumbnail per file with its `@imageN` tag,
 * a button that puts the tag into the prompt, the role select (when the model has a choice) and
 * a remove button. Errors the API reported for an entry show on its thumbnail.
 */
import type { ImageRole } from "@vidrelay/sdk";
import { type ChangeEvent, type DragEvent, useState } from "react";
import { GroupError } from "../../components/form.tsx";
import { errorText } from "../../components/ui.tsx";
import type { MediaItem, MediaKind } from "./request.ts";

const ROLE_LABELS: Record<ImageRole, string> = {
  reference_image: "Reference",
  first_frame: "First frame",
  last_frame: "Last frame",
  // Not offered by the playground yet (a keyframe needs its time, `at`): named for completeness.
  keyframe: "Keyframe",
};

export interface MediaErrors {
  [index: number]: { role?: string; file?: string };
}

type MediaProps = {
  media: MediaItem[];
  tags: string[];
  limits: Record<MediaKind, number>;
  roles: ImageRole[];
  errors: MediaErrors;
  fieldError: string | null;
  notice: string | null;
  onAdd(files: File[]): void;
  onRemove(key: string): void;
  onRole(key: string, role: ImageRole): void;
  onInsert(tag: string): void;
};

export function MediaPicker(props: MediaProps) {
  const { media, tags, errors } = props;
  return (
    <div className={`field${props.fieldError ? " field-invalid" : ""}`}>
      <DropZone limits={props.limits} onAdd={props.onAdd} />
      {props.notice ? (
        <div className="notice" role="status">
          {props.notice}
        </div>
      ) : null}
      <GroupError field="playground-media" message={props.fieldError} />
      {media.length ? (
        <ul className="thumbs media-list" aria-label="Reference media">
          {media.map((item, index) => (
            <MediaThumb
              key={item.key}
              item={item}
              tag={tags[index]!}
              error={errors[index]}
              roles={props.roles}
              onRole={props.onRole}
              onInsert={props.onInsert}
              onRemove={props.onRemove}
            />
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** The file inputs (images; video or audio where the model takes them), and a drop zone around them. */
function DropZone({ limits, onAdd }: Pick<MediaProps, "limits" | "onAdd">) {
  const [dragging, setDragging] = useState(false);
  const takesOther = limits.video > 0 || limits.audio > 0;
  const anything = limits.image + limits.video + limits.audio > 0;
  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const files = [...event.dataTransfer.files];
    if (files.length) onAdd(files);
  };
  const onPick = (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])];
    event.target.value = "";
    if (files.length) onAdd(files);
  };
  return (
    <fieldset
      className={`dropzone${dragging ? " active" : ""}`}
      data-testid="dropzone"
      aria-label="Reference media: choose files or drop them here"
      onDragOver={(event) => {
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <label htmlFor="playground-image">Image</label>
      <input
        id="playground-image"
        type="file"
        accept="image/*"
        multiple
        disabled={limits.image === 0}
        aria-describedby="playground-media-hint"
        onChange={onPick}
      />
      {takesOther ? (
        <>
          <label htmlFor="playground-other-media">Video or audio</label>
          <input
            id="playground-other-media"
            type="file"
            accept="video/*,audio/*"
            multiple
            onChange={onPick}
          />
        </>
      ) : null}
      <div className="hint" id="playground-media-hint">
        {anything
          ? `Or drop files here. This model takes up to ${limitText(limits)}.`
          : "This model generates from text only: it takes no images."}
      </div>
    </fieldset>
  );
}

/** One picked file: its thumbnail and tag, its upload state, its role, Insert and Remove, its error. */
function MediaThumb({
  item,
  tag,
  error,
  roles,
  onRole,
  onInsert,
  onRemove,
}: { item: MediaItem; tag: string; error: MediaErrors[number] | undefined } & Pick<
  MediaProps,
  "roles" | "onRole" | "onInsert" | "onRemove"
>) {
  const roleId = `playground-role-${item.key}`;
  return (
    <li className={`thumb${error ? " field-invalid" : ""}`}>
      {item.kind === "image" ? (
        <img src={item.preview} alt={`${tag}: ${item.name}`} />
      ) : (
        <div className="media-icon" aria-hidden="true">
          {item.kind}
        </div>
      )}
      <div className="thumb-tag">
        <code>{tag}</code>{" "}
        <span className="muted thumb-name" title={item.name}>
          {item.file ? item.name : item.error ? "upload failed" : "uploading…"}
        </span>
      </div>
      {item.kind === "image" && roles.length > 1 ? (
        <>
          <label className="sr-only" htmlFor={roleId}>
            Role of {tag}
          </label>
          <select
            id={roleId}
            value={item.role}
            onChange={(event) => onRole(item.key, event.target.value as ImageRole)}
          >
            {roles.map((role) => (
              <option key={role} value={role}>
                {ROLE_LABELS[role]}
              </option>
            ))}
          </select>
        </>
      ) : null}
      <div className="thumb-actions">
        <button
          type="button"
          className="secondary"
          disabled={!item.file}
          onClick={() => onInsert(tag)}
          aria-label={`Insert ${tag} into the prompt`}
        >
          Insert
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => onRemove(item.key)}
          aria-label={`Remove ${tag}`}
        >
          Remove
        </button>
      </div>
      {item.error || error ? (
        <div className="field-error" role="alert" data-field-error={roleId}>
          {item.error ? errorText(item.error) : (error?.role ?? error?.file)}
        </div>
      ) : null}
    </li>
  );
}

function limitText(limits: Record<MediaKind, number>): string {
  const parts = (["image", "video", "audio"] as const)
    .filter((kind) => limits[kind] > 0)
    .map(
      (kind) => `${limits[kind]} ${kind === "audio" ? "audio track" : kind}${limits[kind] === 1 ? "" : "s"}`,
    );
  return parts.join(", ");
}
