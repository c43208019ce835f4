/**
 * "Add channel": an upstream account the gateway routes tasks to. The API key is a password field
 * and is never shown again (the API returns only its last characters).
 */
import type { Channel, ChannelParams, VidRelay } from "@vidrelay/sdk";
import { type FormEvent, useState } from "react";
import { ErrorNote, Field, useLoad } from "../../components/ui.tsx";
import { catalogModels, intOrNull, useFocusOnOpen, useFormError } from "./api.ts";

/** The gateway's adapters (ChannelObject.provider); the API refuses any other with param "provider". */
const PROVIDERS = [
  { id: "ark", label: "Ark (Volcengine / BytePlus Seedance)" },
  { id: "dashscope", label: "DashScope (Alibaba)" },
  { id: "fal", label: "fal" },
  { id: "xai", label: "xAI" },
  { id: "relaydance", label: "Another RelayDance gateway" },
];

type ChannelField =
  | "channel-provider"
  | "channel-name"
  | "channel-base-url"
  | "channel-api-key"
  | "channel-models"
  | "channel-max-concurrent";

function fieldOf(param: string): ChannelField | undefined {
  if (param.startsWith("models")) return "channel-models";
  return (
    {
      provider: "channel-provider",
      name: "channel-name",
      base_url: "channel-base-url",
      api_key: "channel-api-key",
      max_concurrent: "channel-max-concurrent",
    } as Record<string, ChannelField>
  )[param];
}

interface MappingRow {
  model: string;
  upstream: string;
}

export function ChannelForm({
  client,
  onCreated,
  onCancel,
}: {
  client: VidRelay;
  onCreated(channel: Channel): void;
  onCancel(): void;
}) {
  const catalog = useLoad((signal) => catalogModels(client, signal), [client]);
  const [provider, setProvider] = useState("ark");
  const [name, setName] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [rows, setRows] = useState<MappingRow[]>([{ model: "", upstream: "" }]);
  const [maxConcurrent, setMaxConcurrent] = useState("10");
  const [busy, setBusy] = useState(false);
  const form = useFormError<ChannelField>(fieldOf);

  const setRow = (i: number, patch: Partial<MappingRow>) =>
    setRows((list) => list.map((row, j) => (j === i ? { ...row, ...patch } : row)));

  const first = useFocusOnOpen<HTMLSelectElement>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    form.setError(null);
    try {
      const models = Object.fromEntries(rows.filter((r) => r.model).map((r) => [r.model, r.upstream.trim()]));
      const params: ChannelParams = {
        provider,
        name: name.trim() || undefined,
        base_url: baseUrl.trim(),
        api_key: apiKey,
        models,
        // Text that is not a number is sent as typed, so the API's own check (and message) applies.
        max_concurrent: (intOrNull(maxConcurrent) ?? undefined) as number | undefined,
      };
      const channel = await client.admin.channels.create(params);
      setApiKey("");
      onCreated(channel);
    } catch (error) {
      form.setError(error);
    } finally {
      setBusy(false);
    }
  };

  const modelsError = form.on("channel-models");
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="add-channel-title">
      <h2 id="add-channel-title">Add channel</h2>
      <div className="row">
        <Field label="Provider" htmlFor="channel-provider" error={form.on("channel-provider")}>
          <select
            id="channel-provider"
            ref={first}
            {...form.aria("channel-provider")}
            value={provider}
            onChange={(e) => setProvider(e.target.value)}
          >
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Name (optional)" htmlFor="channel-name" error={form.on("channel-name")}>
          <input
            id="channel-name"
            {...form.aria("channel-name")}
            value={name}
            onChange={(e) => setName(e.target.value)}
            autoComplete="off"
          />
        </Field>
      </div>
      <Field
        label="Base URL"
        htmlFor="channel-base-url"
        error={form.on("channel-base-url")}
        hint="e.g. https://ark.cn-beijing.volces.com/api/v3"
      >
        <input
          id="channel-base-url"
          {...form.aria("channel-base-url")}
          type="text"
          inputMode="url"
          value={baseUrl}
          onChange={(e) => setBaseUrl(e.target.value)}
          autoComplete="off"
          spellCheck={false}
        />
      </Field>
      <Field
        label="API key"
        htmlFor="channel-api-key"
        error={form.on("channel-api-key")}
        hint="Stored sealed; it is never shown again."
      >
        <input
          id="channel-api-key"
          {...form.aria("channel-api-key")}
          type="password"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
          autoComplete="new-password"
        />
      </Field>
      <fieldset className={`model-choice${modelsError ? " field-invalid" : ""}`}>
        <legend>Models: our model → the provider's model id</legend>
        <ErrorNote error={catalog.error} title="Could not load the models" />
        {rows.map((row, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity beyond their position
          <div className="model-row" key={i}>
            <select
              aria-label={`Model ${i + 1}`}
              value={row.model}
              onChange={(e) => setRow(i, { model: e.target.value })}
            >
              <option value="">Choose a model…</option>
              {(catalog.data ?? []).map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
            <input
              aria-label={`Upstream model id ${i + 1}`}
              placeholder="e.g. doubao-seedance-1-5-pro-251215"
              value={row.upstream}
              onChange={(e) => setRow(i, { upstream: e.target.value })}
              spellCheck={false}
            />
            {rows.length > 1 ? (
              <button
                type="button"
                className="secondary"
                onClick={() => setRows((list) => list.filter((_, j) => j !== i))}
                aria-label={`Remove model ${i + 1}`}
              >
                Remove
              </button>
            ) : null}
          </div>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() => setRows((list) => [...list, { model: "", upstream: "" }])}
        >
          Add a model
        </button>
        {modelsError ? (
          <div className="field-error" role="alert" data-field-error="channel-models">
            {modelsError}
          </div>
        ) : null}
      </fieldset>
      <Field
        label="Max concurrent tasks"
        htmlFor="channel-max-concurrent"
        error={form.on("channel-max-concurrent")}
      >
        <input
          id="channel-max-concurrent"
          {...form.aria("channel-max-concurrent")}
          inputMode="numeric"
          value={maxConcurrent}
          onChange={(e) => setMaxConcurrent(e.target.value)}
        />
      </Field>
      <ErrorNote error={form.general} title="Not added" />
      <div className="page-actions">
        <button type="submit" disabled={busy}>
          {busy ? "Adding…" : "Add channel"}
        </button>
        <button type="button" className="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
