/**
 * One key's limits (GET/PUT /v1/admin/keys/:id/limits). An empty field is sent as null: the key
 * then inherits the account's limit (and the account the gateway's default).
 */
import type { Limits, LimitsParams, VidRelay } from "@vidrelay/sdk";
import { type Dispatch, type SetStateAction, useEffect, useState } from "react";
import {
  FormActions,
  formErrors,
  GroupError,
  submitWith,
  TextField,
  useAction,
} from "../../components/form.tsx";
import { ErrorNote, formatTime, useLoad } from "../../components/ui.tsx";
import { catalogModels, intOrNull, useFocusOnOpen } from "./api.ts";

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

  const save = useAction(async () => {
    setSaved(null);
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
  });
  const form = formErrors<LimitField>(save.error, fieldOf);
  const first = useFocusOnOpen<HTMLInputElement>();

  return (
    <form className="panel" onSubmit={submitWith(save.run)} aria-labelledby="limits-title">
      <h2 id="limits-title">Limits of key “{keyName}”</h2>
      <p className="muted">Leave a field empty to inherit the account's limit.</p>
      <ErrorNote error={loaded.error} title="Could not load the limits" />
      <div className="row">
        <TextField
          label="Requests per minute"
          {...form.field("limit-rpm")}
          ref={first}
          inputMode="numeric"
          value={rpm}
          onChange={(e) => setRpm(e.target.value)}
        />
        <TextField
          label="Max concurrent tasks"
          {...form.field("limit-concurrent")}
          inputMode="numeric"
          value={concurrent}
          onChange={(e) => setConcurrent(e.target.value)}
        />
        <TextField
          label="Daily spend cap"
          {...form.field("limit-cap")}
          hint="e.g. 25.00"
          inputMode="decimal"
          value={cap}
          onChange={(e) => setCap(e.target.value)}
        />
      </div>
      <AllowedModels
        catalog={loaded.data?.models ?? []}
        restrict={restrict}
        setRestrict={setRestrict}
        allowed={allowed}
        setAllowed={setAllowed}
        error={form.on("limit-models")}
      />
      <FormActions
        error={form.general}
        errorTitle="Not saved"
        busy={save.busy}
        disabled={!loaded.data}
        submit="Save limits"
        busySubmit="Saving…"
        cancel="Close"
        onCancel={onClose}
        status={saved ? `Saved at ${formatTime(saved.updated_at)}.` : ""}
      />
    </form>
  );
}

/** Every model, or only those ticked (the catalog's, and any the key allows that it no longer lists). */
function AllowedModels({
  catalog,
  restrict,
  setRestrict,
  allowed,
  setAllowed,
  error,
}: {
  catalog: string[];
  restrict: boolean;
  setRestrict(restrict: boolean): void;
  allowed: string[];
  setAllowed: Dispatch<SetStateAction<string[]>>;
  error: string | null;
}) {
  const models = [...new Set([...catalog, ...allowed])];
  const toggle = (model: string, on: boolean) =>
    setAllowed((list) => (on ? [...list, model] : list.filter((m) => m !== model)));
  return (
    <fieldset className={`model-choice${error ? " field-invalid" : ""}`}>
      <legend>Models</legend>
      <label>
        <input type="checkbox" checked={restrict} onChange={(e) => setRestrict(e.target.checked)} /> Only the
        models ticked below
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
      <GroupError field="limit-models" message={error} />
    </fieldset>
  );
}
