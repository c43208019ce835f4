/**
 * "Add channel": an upstream account the gateway routes tasks to. The API key is a password field
 * and is never shown again (the API returns only its last characters).
 */
import type { Channel, ChannelParams, VidRelay } from "@vidrelay/sdk";
import { type Dispatch, type SetStateAction, useState } from "react";
import {
  FormActions,
  formErrors,
  GroupError,
  RemoveRowButton,
  SelectField,
  submitWith,
  TextField,
  useAction,
} from "../../components/form.tsx";
import { ErrorNote, useLoad } from "../../components/ui.tsx";
import { catalogModels, intOrNull, useFocusOnOpen } from "./api.ts";

/** The gateway's adapters (ChannelObject.provider); the API refuses any other with param "provider". */
const PROVIDERS = [
  { value: "ark", label: "Ark (Volcengine / BytePlus Seedance)" },
  { value: "dashscope", label: "DashScope (Alibaba)" },
  { value: "fal", label: "fal" },
  { value: "xai", label: "xAI" },
  { value: "relaydance", label: "Another RelayDance gateway" },
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
  const [provider, setProvider] = useState("ark");
  const [name, setName] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [rows, setRows] = useState<MappingRow[]>([{ model: "", upstream: "" }]);
  const [maxConcurrent, setMaxConcurrent] = useState("10");
  const save = useAction(async () => {
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
  });
  const form = formErrors<ChannelField>(save.error, fieldOf);
  const first = useFocusOnOpen<HTMLSelectElement>();

  return (
    <form className="panel" onSubmit={submitWith(save.run)} aria-labelledby="add-channel-title">
      <h2 id="add-channel-title">Add channel</h2>
      <div className="row">
        <SelectField
          label="Provider"
          {...form.field("channel-provider")}
          ref={first}
          value={provider}
          onChange={(e) => setProvider(e.target.value)}
          options={PROVIDERS}
        />
        <TextField
          label="Name (optional)"
          {...form.field("channel-name")}
          value={name}
          onChange={(e) => setName(e.target.value)}
          autoComplete="off"
        />
      </div>
      <TextField
        label="Base URL"
        {...form.field("channel-base-url")}
        hint="e.g. https://ark.cn-beijing.volces.com/api/v3"
        type="text"
        inputMode="url"
        value={baseUrl}
        onChange={(e) => setBaseUrl(e.target.value)}
        autoComplete="off"
        spellCheck={false}
      />
      <TextField
        label="API key"
        {...form.field("channel-api-key")}
        hint="Stored sealed; it is never shown again."
        type="password"
        value={apiKey}
        onChange={(e) => setApiKey(e.target.value)}
        autoComplete="new-password"
      />
      <ModelRows client={client} rows={rows} setRows={setRows} error={form.on("channel-models")} />
      <TextField
        label="Max concurrent tasks"
        {...form.field("channel-max-concurrent")}
        inputMode="numeric"
        value={maxConcurrent}
        onChange={(e) => setMaxConcurrent(e.target.value)}
      />
      <FormActions
        error={form.general}
        errorTitle="Not added"
        busy={save.busy}
        submit="Add channel"
        busySubmit="Adding…"
        onCancel={onCancel}
      />
    </form>
  );
}

/** The channel's models: one row per model of our catalog and the provider's id for it. */
function ModelRows({
  client,
  rows,
  setRows,
  error,
}: {
  client: VidRelay;
  rows: MappingRow[];
  setRows: Dispatch<SetStateAction<MappingRow[]>>;
  error: string | null;
}) {
  const catalog = useLoad((signal) => catalogModels(client, signal), [client]);
  const setRow = (i: number, patch: Partial<MappingRow>) =>
    setRows((list) => list.map((row, j) => (j === i ? { ...row, ...patch } : row)));
  return (
    <fieldset className={`model-choice${error ? " field-invalid" : ""}`}>
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
            <RemoveRowButton
              label={`Remove model ${i + 1}`}
              onRemove={() => setRows((list) => list.filter((_, j) => j !== i))}
            />
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
      <GroupError field="channel-models" message={error} />
    </fieldset>
  );
}
