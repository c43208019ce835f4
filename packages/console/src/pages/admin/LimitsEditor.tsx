/**
 * One key's limits (GET/PUT /v1/admin/keys/:id/limits). An empty field is sent as null: the key
 * then inherits the account's limit (and the account the gateway's default).
 */
import type { Limits, LimitsParams, VidRelay } from "@vidrelay/sdk";
import { type FormEvent, useEffect, useState } from "react";
import { ErrorNote, Field, formatTime, useLoad } from "../../components/ui.tsx";
import { catalogModels, intOrNull, useFocusOnOpen, useFormError } from "./api.ts";

type LimitField = "limit-rpm" | "limit-concurrent" | "limit-cap" | "limit-models";

function fieldOf(param: string): LimitField | undefined {
  if (param === "requests_per_minute") return "limit-rpm";
  if (param === "max_concurrent") return "limit-concurrent";
  if (param === "daily_spend_cap") return "limit-cap";
  if (param.startsWith("allowed_models")) return "limit-models";
  return undefined;
}

const microsToText = (micros: number | null) => (micros === null ? "" : String(micros / 1_000_000));

export function LimitsEditor({
  client,
  keyId,
  keyName,
  onClose,
}: {
  client: VidRelay;
  keyId: string;
  keyName: string;
  onClose(): void;
}) {
  const loaded = useLoad(
    async (signal) => ({
      limits: await client.admin.limits.getKey(keyId, { signal }),
      models: await catalogModels(client, signal),
    }),
    [client, keyId],
  );
  const [rpm, setRpm] = useState("");
  const [concurrent, setConcurrent] = useState("");
  const [cap, setCap] = useState("");
  const [restrict, setRestrict] = useState(false);
  const [allowed, setAllowed] = useState<string[]>([]);
  const [saved, setSaved] = useState<Limits | null>(null);
  const [busy, setBusy] = useState(false);
  const form = useFormError<LimitField>(fieldOf);

  // The form shows what the API holds: once loaded, and again as the API answered a save.
  const fill = (limits: Limits) => {
    setRpm(limits.requests_per_minute === null ? "" : String(limits.requests_per_minute));
    setConcurrent(limits.max_concurrent === null ? "" : String(limits.max_concurrent));
    setCap(microsToText(limits.daily_spend_cap_micros));
    setRestrict(limits.allowed_models !== null);
    setAllowed(limits.allowed_models ?? []);
  };
  const initial = loaded.data?.limits;
  // biome-ignore lint/correctness/useExhaustiveDependencies: fill only sets state
  useEffect(() => {
    if (initial) fill(initial);
  }, [initial]);

  const first = useFocusOnOpen<HTMLInputElement>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    form.setError(null);
    setSaved(null);
    try {
      // Text that is not a number is sent as typed, so the API's own check (and message) applies.
      const params = {
        requests_per_minute: intOrNull(rpm) as number | null,
        max_concurrent: intOrNull(concurrent) as number | null,
        daily_spend_cap: cap.trim() === "" ? null : cap.trim(),
        allowed_models: restrict ? allowed : null,
      } satisfies LimitsParams;
      const limits = await client.admin.limits.setKey(keyId, params);
      fill(limits);
      setSaved(limits);
    } catch (error) {
      form.setError(error);
    } finally {
      setBusy(false);
    }
  };

  const models = [...new Set([...(loaded.data?.models ?? []), ...allowed])];
  const toggle = (model: string, on: boolean) =>
    setAllowed((list) => (on ? [...list, model] : list.filter((m) => m !== model)));

  return (
    <form className="panel" onSubmit={submit} aria-labelledby="limits-title">
      <h2 id="limits-title">Limits of key “{keyName}”</h2>
      <p className="muted">Leave a field empty to inherit the account's limit.</p>
      <ErrorNote error={loaded.error} title="Could not load the limits" />
      <div className="row">
        <Field label="Requests per minute" htmlFor="limit-rpm" error={form.on("limit-rpm")}>
          <input
            id="limit-rpm"
            ref={first}
            {...form.aria("limit-rpm")}
            inputMode="numeric"
            value={rpm}
            onChange={(e) => setRpm(e.target.value)}
          />
        </Field>
        <Field label="Max concurrent tasks" htmlFor="limit-concurrent" error={form.on("limit-concurrent")}>
          <input
            id="limit-concurrent"
            {...form.aria("limit-concurrent")}
            inputMode="numeric"
            value={concurrent}
            onChange={(e) => setConcurrent(e.target.value)}
          />
        </Field>
        <Field label="Daily spend cap" htmlFor="limit-cap" error={form.on("limit-cap")} hint="e.g. 25.00">
          <input
            id="limit-cap"
            {...form.aria("limit-cap")}
            inputMode="decimal"
            value={cap}
            onChange={(e) => setCap(e.target.value)}
          />
        </Field>
      </div>
      <fieldset className={`model-choice${form.on("limit-models") ? " field-invalid" : ""}`}>
        <legend>Models</legend>
        <label>
          <input type="checkbox" checked={restrict} onChange={(e) => setRestrict(e.target.checked)} /> Only
          the models ticked below
        </label>
        {restrict ? (
          <div className="model-list">
            {models.map((model) => (
              <label key={model}>
                <input
                  type="checkbox"
                  checked={allowed.includes(model)}
                  onChange={(e) => toggle(model, e.target.checked)}
                />{" "}
                {model}
              </label>
            ))}
          </div>
        ) : null}
        {form.on("limit-models") ? (
          <div className="field-error" role="alert" data-field-error="limit-models">
            {form.on("limit-models")}
          </div>
        ) : null}
      </fieldset>
      <ErrorNote error={form.general} title="Not saved" />
      <div className="page-actions">
        <button type="submit" disabled={busy || !loaded.data}>
          {busy ? "Saving…" : "Save limits"}
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
        <span role="status">{saved ? `Saved at ${formatTime(saved.updated_at)}.` : ""}</span>
      </div>
    </form>
  );
}
