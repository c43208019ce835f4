/** What every process of a test (or bench) cluster shares, as the environment of `vidrelay serve|worker`. */
export interface ClusterSettings {
  databaseUrl: string;
  /** `s3://…` of the test bucket. */
  storageUrl: string;
  pgbossSchema: string;
  /** The API process's origin: every url we return is built on it. */
  publicUrl: string;
  bootstrapKey: string;
  secret: string;
}

/** One process's environment: the shared settings, its own port and data dir, and `extra`. */
export function clusterEnv(
  shared: ClusterSettings,
  own: { port: number; dataDir: string },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    VIDRELAY_PORT: String(own.port),
    VIDRELAY_DATA_DIR: own.dataDir,
    VIDRELAY_DATABASE_URL: shared.databaseUrl,
    VIDRELAY_STORAGE_URL: shared.storageUrl,
    VIDRELAY_PGBOSS_SCHEMA: shared.pgbossSchema,
    VIDRELAY_PUBLIC_URL: shared.publicUrl,
    VIDRELAY_BOOTSTRAP_KEY: shared.bootstrapKey,
    VIDRELAY_SECRET: shared.secret,
    VIDRELAY_ALLOW_PRIVATE_TARGETS: "127.0.0.1",
    VIDRELAY_UPSTREAM_POLL_SCALE: "0.01",
    VIDRELAY_LOG_LEVEL: "warn",
    // s3rver's fixed credentials, through the AWS SDK's standard chain.
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    ...extra,
  };
}
