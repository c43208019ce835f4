/**
 * Run a test double as its own process, for manual testing or a gateway started by hand:
 *
 *   node --import tsx test/doubles/serve.ts ark --profile byteplus --port 18080 --scale 1
 *
 * Prints the base URL and a key, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startArkDouble } from "./ark/double.ts";
import type { Profile } from "./ark/models.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    profile: { type: "string", default: "cn" },
    port: { type: "string", default: "0" },
    scale: { type: "string", default: "600" },
    seed: { type: "string", default: "1" },
    key: { type: "string", multiple: true },
  },
});

const which = positionals[0] ?? "ark";
if (which !== "ark") {
  console.error(`unknown double "${which}" (available: ark)`);
  process.exit(2);
}
const profile = values.profile as Profile;
if (profile !== "cn" && profile !== "byteplus") {
  console.error("--profile must be cn or byteplus");
  process.exit(2);
}
const double = await startArkDouble({
  profile,
  port: Number(values.port),
  clockScale: Number(values.scale),
  seed: Number(values.seed),
  keys: values.key,
});
console.log(
  JSON.stringify({
    double: "ark",
    profile,
    baseUrl: double.baseUrl,
    keys: double.keys,
    control: `${double.url}/__control/`,
  }),
);
const stop = () => {
  void double.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
