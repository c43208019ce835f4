/**
 * Where a fal request is asked about (docs/providers.md §4.1): the status, result and cancel URLs
 * fal returned at submit, which name only owner/app (not the app's path) and must be used as
 * given, never rebuilt. The submit stores them as the task's `upstreamRef` (JSON); tasks stored
 * before refs existed carry them in the upstream id instead: the `response_url` itself, or — when
 * the three URLs broke fal's documented `…/status`, `…/cancel` suffixes — the three space-separated.
 */
export interface FalUrls {
  requestId: string;
  responseUrl: string;
  statusUrl: string;
  cancelUrl: string;
}

/** The URLs fal returned at submit (the ref), or — for tasks stored before refs existed — the old URL id. */
export function falUrls(upstreamId: string, upstreamRef?: string): FalUrls {
  if (upstreamRef) {
    const ref = JSON.parse(upstreamRef) as { response_url: string; status_url: string; cancel_url: string };
    return {
      requestId: upstreamId,
      responseUrl: ref.response_url,
      statusUrl: ref.status_url,
      cancelUrl: ref.cancel_url,
    };
  }
  return decodeFalId(upstreamId);
}

/** An upstream id stored before refs existed: the response URL, or the three URLs space-separated. */
function decodeFalId(upstreamId: string): FalUrls {
  const [response, status, cancel] = upstreamId.split(" ");
  if (!response || !/^https?:\/\//.test(response))
    throw new Error(`fal upstream id ${upstreamId.slice(0, 80)} carries no request URL`);
  const requestId = new URL(response).pathname.split("/").filter(Boolean).at(-1) ?? response;
  return {
    requestId,
    responseUrl: response,
    statusUrl: status ?? `${response}/status`,
    cancelUrl: cancel ?? `${response}/cancel`,
  };
}
