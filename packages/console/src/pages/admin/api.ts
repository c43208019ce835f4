/**
 * What the admin pages share. Their calls go through the signed-in key's SDK client
 * (`client.admin.*`), and the objects they show are the SDK's types, generated from the server's
 * schemas: the console keeps no copy of an API shape.
 */
import type { VidRelay } from "@vidrelay/sdk";
import { type RefObject, useEffect, useRef } from "react";

/** Every model in the gateway's catalog (the price list names each one, served or not). */
export async function catalogModels(client: VidRelay, signal?: AbortSignal): Promise<string[]> {
  const prices = await client.admin.prices.list({ signal });
  return prices.map((p) => p.model);
}

/** A text box's value as the API's integer field: "" → null (inherit); other text is sent as typed so
 * the API's own check (and message) applies. */
export function intOrNull(text: string): number | string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : trimmed;
}

/** Focus this element once, when the panel holding it opens: the button that opened it may now be
 * disabled or gone, and keyboard users should land in the form rather than back at the page top. */
export function useFocusOnOpen<T extends HTMLElement>(): RefObject<T | null> {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}
