#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so `npm ci` is the only build step.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

// The server's tsconfig from any folder: its "paths" give @vidrelay/sdk as TypeScript source (not the
// SDK's built dist/), and a tsconfig.json in the folder the command runs in does not apply.
register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
const { loadEnvFile } = await import("../src/cli/env-file.ts");
try {
  // npm start runs in the server package's folder; INIT_CWD is where the operator typed it.
  const loaded = loadEnvFile(process.env, process.env.INIT_CWD || process.cwd());
  if (loaded && ["serve", "worker"].includes(process.argv[2] ?? "")) {
    console.log(
      `vidrelay: ${loaded.applied.length} setting(s) from ${loaded.path}: ${loaded.applied.join(", ")}`,
    );
  }
} catch (error) {
  console.error(`vidrelay: ${error.message}`);
  process.exit(2);
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
