/**
 * The playground form's state: the values (`FormState`), the model they are for, the reference
 * media with their uploads, and the errors the API reported, on the field or media item they name.
 */
import type { ImageRole, Model, VidRelay } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
import { errorParam, errorText } from "../../components/ui.tsx";
import type { MediaErrors } from "./MediaPicker.tsx";
import { admitFiles, refusedNotice, rolesForModel } from "./media.ts";
import { errorTarget, type FormState, type MediaItem, modelDefaults } from "./request.ts";

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

let nextKey = 0;

/** The API's errors of the last submit: on a field, on a media item, or for the whole form. */
function useSubmitErrors() {
  const [fields, setFields] = useState<Record<string, string>>({});
  const [media, setMedia] = useState<MediaErrors>({});
  const [form, setForm] = useState<unknown>();
  return {
    fields,
    media,
    form,
    clear() {
      setFields({});
      setMedia({});
      setForm(undefined);
    },
    clearField(field: string) {
      if (fields[field]) setFields(({ [field]: _, ...rest }) => rest);
    },
    clearMedia: () => setMedia({}),
    /** Put a refused submit's error where its `param` points. */
    show(error: unknown, items: MediaItem[]) {
      const target = errorTarget(errorParam(error), items);
      if (target && "field" in target) setFields({ [target.field]: errorText(error) });
      else if (target) setMedia({ [target.media]: { [target.what]: errorText(error) } });
      else setForm(error);
    },
  };
}

export function usePlaygroundForm(client: VidRelay, models: Model[] | undefined) {
  const [form, setForm] = useState<FormState>(EMPTY_FORM);
  const errors = useSubmitErrors();
  const [notice, setNotice] = useState<string | null>(null);
  // Until the user picks a ratio, it follows the model's default for "with media" or "text only".
  const [ratioChosen, setRatioChosen] = useState(false);
  const model = models?.find((m) => m.id === form.model);

  // Object URLs of thumbnails are released when the page goes away.
  const mediaRef = useRef(form.media);
  mediaRef.current = form.media;
  useEffect(
    () => () => {
      for (const m of mediaRef.current) URL.revokeObjectURL(m.preview);
    },
    [],
  );

  const update = (patch: Partial<FormState>, field?: string) => {
    setForm((f) => ({ ...f, ...patch }));
    if (field === "ratio") setRatioChosen(true);
    if (field) errors.clearField(field);
  };
  const updateMedia = (key: string, patch: Partial<MediaItem>) =>
    setForm((f) => ({ ...f, media: f.media.map((m) => (m.key === key ? { ...m, ...patch } : m)) }));

  const chooseModel = (id: string) => {
    const next = models?.find((m) => m.id === id);
    if (!next) return;
    setForm((f) => ({
      ...f,
      model: id,
      media: rolesForModel(f.media, next),
      ...modelDefaults(next, f.media.length > 0),
    }));
    errors.clear();
    setNotice(null);
    setRatioChosen(false);
  };

  // The first model is chosen once the list arrives.
  const firstModel = models?.[0]?.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: chooseModel reads the loaded list
  useEffect(() => {
    if (firstModel && !form.model) chooseModel(firstModel);
  }, [firstModel]);

  /** Add what the model still takes, each uploading at once; say which files it refused. */
  const addFiles = (files: File[]) => {
    const { admitted, refused } = admitFiles(files, form.media, model);
    const added = admitted.map(({ file, kind, role }): MediaItem => {
      const item = { key: `m${nextKey++}`, kind, name: file.name, preview: URL.createObjectURL(file), role };
      client.files.upload(file).then(
        (uploaded) => updateMedia(item.key, { file: uploaded, kind: uploaded.kind ?? kind }),
        (error: unknown) => updateMedia(item.key, { error }),
      );
      return item;
    });
    setNotice(refusedNotice(model, refused));
    if (added.length) {
      const ratio = !ratioChosen && model ? model.ratios.default_with_media : form.ratio;
      setForm((f) => ({ ...f, ratio, media: [...f.media, ...added] }));
      errors.clearMedia();
      errors.clearField("media");
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
    errors.clearMedia();
    setNotice(null);
  };

  const setRole = (key: string, role: ImageRole) => {
    updateMedia(key, { role });
    errors.clearMedia();
  };

  return { form, model, update, chooseModel, addFiles, removeMedia, setRole, notice, errors };
}
