import type { Core, RequestOptions } from "../core.ts";
import type { Model, ModelList } from "../types.ts";

export class Models {
  constructor(private readonly core: Core) {}

  /** The models this key may use, with their capabilities (`GET /v1/models`). */
  async list(options: RequestOptions = {}): Promise<Model[]> {
    const page = await this.core.request<ModelList>({ ...options, method: "GET", path: "/v1/models" });
    return page.data;
  }

  /** One model (`GET /v1/models/{id}`); `NotFoundError` for an unknown id. */
  get(modelId: string, options: RequestOptions = {}): Promise<Model> {
    return this.core.request({
      ...options,
      method: "GET",
      path: `/v1/models/${encodeURIComponent(modelId)}`,
    });
  }
}
