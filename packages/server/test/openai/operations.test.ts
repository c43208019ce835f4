/** Edit, extend and the spritesheet with the `openai` 6.x package (Node 20); 7.x: operations-v7.test.ts. */
import OpenAI, { BadRequestError, toFile } from "openai";
import { operationsSuite } from "./operations-suite.ts";

operationsSuite("openai 6.x", { OpenAI, BadRequestError, toFile });
