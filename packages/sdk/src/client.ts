import { type ClientOptions, Core, type RequestOptions } from "./core.ts";
import { Admin } from "./resources/admin.ts";
import { Billing } from "./resources/billing.ts";
import { Files } from "./resources/files.ts";
import { Models } from "./resources/models.ts";
import { Videos } from "./resources/videos.ts";
import { Webhooks } from "./resources/webhooks.ts";
import type { WhoAmI } from "./types.ts";

/**
 * A client for a RelayDance v1 gateway (vidrelay or the hosted service).
 *
 * ```ts
 * const client = new VidRelay({ apiKey, baseURL }); // or VIDRELAY_API_KEY / VIDRELAY_BASE_URL
 * const file = await client.files.upload("photo.jpg");
 * const task = await client.videos.create({ model, prompt: "@image1 slow push-in", metadata: { content: [...] } });
 * const done = await client.videos.wait(task, { onProgress: (t) => console.log(t.progress) });
 * await client.videos.download(done, "out.mp4");
 * ```
 *
 * `billing` (balance, usage) works with any key; `admin` (keys, accounts, channels, prices,
 * limits, ledger) needs a live key of an admin account.
 */
export class VidRelay {
  readonly files: Files;
  readonly videos: Videos;
  readonly models: Models;
  readonly webhooks: Webhooks;
  readonly billing: Billing;
  readonly admin: Admin;
  /** The gateway origin requests go to (without `/v1`). */
  readonly baseURL: string;
  /** Shared HTTP plumbing: `request()` reaches any endpoint with auth, retries and typed errors. */
  readonly core: Core;

  constructor(options: ClientOptions = {}) {
    this.core = new Core(options);
    this.baseURL = this.core.baseURL;
    this.files = new Files(this.core);
    this.videos = new Videos(this.core);
    this.models = new Models(this.core);
    this.webhooks = new Webhooks(this.core);
    this.billing = new Billing(this.core);
    this.admin = new Admin(this.core);
  }

  /** `GET /v1/me`: the calling key and its account (is it an admin, a test-mode key?). Never the secret. */
  me(options: RequestOptions = {}): Promise<WhoAmI> {
    return this.core.request({ ...options, method: "GET", path: "/v1/me" });
  }
}
