/** The gateway's version, reported in /openapi.json, user agents and the CLI. */
export const VERSION_STRING = "0.1.0";
