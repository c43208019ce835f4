import { fileURLToPath } from "node:url";

/** The shared sample media (a sibling of the repository: ../shared/samples). */
export const SAMPLES = fileURLToPath(new URL("../../../../../shared/samples/", import.meta.url));
export const sample = (name: string) => `${SAMPLES}${name}`;
export const SERVER_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = fileURLToPath(new URL("../../bin/vidrelay.js", import.meta.url));
