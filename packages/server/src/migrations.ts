import type { Migration } from "kysely";
import { billingMigrations } from "./billing/migrations.ts";
import { channelMigrations } from "./channels/migrations.ts";
import { fileMigrations } from "./files/migrations.ts";
import { jobMigrations } from "./jobs/migrations.ts";
import { modelMigrations } from "./models/migrations.ts";
import { foundingMigrations } from "./store/migrations.ts";
import { taskMigrations } from "./tasks/migrations.ts";
import { webhookMigrations } from "./webhooks/migrations.ts";

/**
 * Every migration of the gateway, each owned by its concern. Kysely applies them in name order
 * (0001, 0002, …), so a new migration takes the next free number whichever folder it lives in.
 */
export const ALL_MIGRATIONS: Record<string, Migration> = {
  ...foundingMigrations,
  ...webhookMigrations,
  ...channelMigrations,
  ...billingMigrations,
  ...taskMigrations,
  ...fileMigrations,
  ...jobMigrations,
  ...modelMigrations,
};
