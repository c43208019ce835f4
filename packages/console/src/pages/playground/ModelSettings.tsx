/** Seconds, ratio, resolution, audio and seed: only the values the chosen model supports. */
import type { Model } from "@vidrelay/sdk";
import type { ChangeEvent } from "react";
import { GroupError, SelectField, TextField } from "../../components/form.tsx";
import { type FormState, fitApplies } from "./request.ts";

export function ModelSettings({
  model,
  form,
  errors,
  update,
}: {
  model: Model;
  form: FormState;
  errors: Record<string, string>;
  update(patch: Partial<FormState>, field: string): void;
}) {
  const seconds: string[] = [];
  for (let s = model.seconds.min; s <= model.seconds.max; s++) seconds.push(String(s));
  const seed = model.parameters.seed;
  const select = (field: "seconds" | "ratio" | "resolution" | "fit") => ({
    id: `playground-${field}`,
    error: errors[field],
    value: form[field],
    onChange: (event: ChangeEvent<HTMLSelectElement>) => update({ [field]: event.target.value }, field),
  });
  return (
    <>
      <div className="row">
        <SelectField label="Seconds" {...select("seconds")} options={seconds} />
        <SelectField label="Ratio" {...select("ratio")} options={model.ratios.values} />
        <SelectField label="Resolution" {...select("resolution")} options={model.resolutions.values} />
      </div>
      {fitApplies(form, model) && model.parameters.fit.supported ? (
        <div className="row">
          <SelectField
            label="Fit"
            {...select("fit")}
            hint="How the first frame meets the ratio: cut to fill, or whole with black bars."
            options={model.parameters.fit.values.map((fit) => ({
              value: fit,
              label: FIT_LABELS.get(fit) ?? fit,
            }))}
          />
        </div>
      ) : null}
      <div className="row">
        {seed.supported ? (
          <TextField
            label="Seed"
            id="playground-seed"
            error={errors.seed}
            hint={`Blank for random; ${seed.min} to ${seed.max}.`}
            inputMode="numeric"
            value={form.seed}
            onChange={(event) => update({ seed: event.target.value }, "seed")}
          />
        ) : null}
        {model.audio.mode === "optional" ? (
          <div className={`field checkbox-field${errors.audio ? " field-invalid" : ""}`}>
            <label htmlFor="playground-audio">
              <input
                id="playground-audio"
                type="checkbox"
                checked={form.generateAudio}
                onChange={(event) => update({ generateAudio: event.target.checked }, "audio")}
              />{" "}
              Generate audio
            </label>
            <GroupError field="playground-audio" message={errors.audio ?? null} />
          </div>
        ) : (
          <p className="muted audio-note">
            Audio: {model.audio.mode === "always" ? "always generated" : "none"} with this model.
          </p>
        )}
      </div>
    </>
  );
}

const FIT_LABELS = new Map([
  ["crop", "Crop (centre)"],
  ["pad", "Pad (black bars)"],
]);
