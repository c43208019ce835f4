/** The Tasks page's filters: status, model and page size. Each change is a new list query. */
import { TASK_STATUSES, type TaskStatus } from "@vidrelay/sdk";
import { SelectField } from "../../components/form.tsx";
import { type ListQuery, pageSizes } from "./query.ts";

export function TaskFilters({
  query: q,
  modelIds,
  onChange,
}: {
  query: ListQuery;
  /** The models to offer (the filter's own model among them). */
  modelIds: string[];
  onChange(change: Partial<ListQuery>): void;
}) {
  return (
    <form className="task-filters" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
      <SelectField
        label="Status"
        id="task-status"
        value={q.status}
        onChange={(e) => onChange({ status: e.target.value as TaskStatus | "" })}
        options={[{ value: "", label: "All statuses" }, ...TASK_STATUSES]}
      />
      <SelectField
        label="Model"
        id="task-model"
        value={q.model}
        onChange={(e) => onChange({ model: e.target.value })}
        options={[{ value: "", label: "All models" }, ...modelIds]}
      />
      <SelectField
        label="Per page"
        id="task-page-size"
        value={q.limit}
        onChange={(e) => onChange({ limit: Number(e.target.value) })}
        options={pageSizes(q.limit)}
      />
    </form>
  );
}
