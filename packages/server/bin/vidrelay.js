#!/usr/bin/env node
// The CLI is TypeScript run through tsx's loader, so `npm ci` is the only build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
