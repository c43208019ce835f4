/** Edit and extend relayed to the xAI and Ark doubles, with `openai` 6.x (Node 20); 7.x: operations-gateway-v7. */
import OpenAI, { BadRequestError, toFile } from "openai";
import { relayedOperationsSuite } from "./operations-gateway-suite.ts";

relayedOperationsSuite("openai 6.x", { OpenAI, BadRequestError, toFile });
