import type { ClaimedJob } from "../jobs/queue.ts";
import type { JobContext, JobHandler } from "../jobs/runner.ts";
import type { WebhookService } from "./service.ts";

/** The `deliver` job: one webhook attempt per run, bounded globally by the runner's concurrency. */
export class DeliverWebhookJob implements JobHandler {
  constructor(
    readonly concurrency: number,
    private readonly webhooks: WebhookService,
  ) {}

  handle(job: ClaimedJob, { signal }: JobContext): Promise<void> {
    return this.webhooks.deliver(job, signal);
  }

  exhausted(job: ClaimedJob): Promise<void> {
    return this.webhooks.exhausted(job);
  }
}
