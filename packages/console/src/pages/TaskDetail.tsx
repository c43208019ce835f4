import { PageHeader } from "../components/ui.tsx";

export function TaskDetailPage({ taskId }: { taskId: string }) {
  return (
    <section>
      <PageHeader title="TaskDetail" />
      <p>Task {taskId}</p>
    </section>
  );
}
