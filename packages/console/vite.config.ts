import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/**
 * The console is served by the gateway at /console (same origin as the API). `npm run dev` serves
 * it from Vite with the API proxied to a gateway on VIDRELAY_BASE_URL (default 127.0.0.1:8080).
 */
const gateway = process.env.VIDRELAY_BASE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  // @vidrelay/sdk from its TypeScript source (the "paths" of tsconfig.base.json), not its built dist/.
  resolve: { tsconfigPaths: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // One small app: a single entry chunk, no source maps shipped to operators' users.
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/v1": gateway, "/files": gateway, "/videos": gateway },
  },
});
