/** Seconds, ratio, resolution, audio and seed: only the values the chosen model supports. */
import type { Model } from "@vidrelay/sdk";
import { Field } from "../../components/ui.tsx";
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
  const seconds: number[] = [];
  for (let s = model.seconds.min; s <= model.seconds.max; s++) seconds.push(s);
  const seed = model.parameters.seed;
  return (
    <>
      <div className="row">
        <Field label="Seconds" htmlFor="playground-seconds" error={errors.seconds}>
          <select
            id="playground-seconds"
            value={form.seconds}
            onChange={(event) => update({ seconds: event.target.value }, "seconds")}
          >
            {seconds.map((s) => (
              <option key={s} value={String(s)}>
                {s}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Ratio" htmlFor="playground-ratio" error={errors.ratio}>
          <select
            id="playground-ratio"
            value={form.ratio}
            onChange={(event) => update({ ratio: event.target.value }, "ratio")}
          >
            {model.ratios.values.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Resolution" htmlFor="playground-resolution" error={errors.resolution}>
          <select
            id="playground-resolution"
            value={form.resolution}
            onChange={(event) => update({ resolution: event.target.value }, "resolution")}
          >
            {model.resolutions.values.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {fitApplies(form, model) && model.parameters.fit.supported ? (
        <div className="row">
          <Field
            label="Fit"
            htmlFor="playground-fit"
            error={errors.fit}
            hint="How the first frame meets the ratio: cut to fill, or whole with black bars."
          >
            <select
              id="playground-fit"
              value={form.fit}
              onChange={(event) => update({ fit: event.target.value }, "fit")}
            >
              {model.parameters.fit.values.map((fit) => (
                <option key={fit} value={fit}>
                  {fit === "crop" ? "Crop (centre)" : fit === "pad" ? "Pad (black bars)" : fit}
                </option>
              ))}
            </select>
          </Field>
        </div>
      ) : null}
      <div className="row">
        {seed.supported ? (
          <Field
            label="Seed"
            htmlFor="playground-seed"
            error={errors.seed}
            hint={`Blank for random; ${seed.min} to ${seed.max}.`}
          >
            <input
              id="playground-seed"
              inputMode="numeric"
              value={form.seed}
              onChange={(event) => update({ seed: event.target.value }, "seed")}
            />
          </Field>
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
            {errors.audio ? (
              <div className="field-error" role="alert" data-field-error="playground-audio">
                {errors.audio}
              </div>
            ) : null}
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
