/**
 * Who is signed in. The API key lives in sessionStorage: it survives a reload of this tab and is
 * gone when the tab closes; "Sign out" removes it. Every request goes through `@vidrelay/sdk`,
 * like any other client of the public API.
 */
import { VidRelay, type WhoAmI } from "@vidrelay/sdk";
import { createContext, useContext } from "react";

const STORAGE_KEY = "vidrelay.console.apiKey";

/** `GET /v1/me`: the calling key and its account (the SDK's type, generated from the server's schema). */
export type { WhoAmI };

export interface Session {
  client: VidRelay;
  me: WhoAmI;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside a signed-in console");
  return session;
}

export function storedKey(): string | null {
  return window.sessionStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string | null): void {
  if (key) window.sessionStorage.setItem(STORAGE_KEY, key);
  else window.sessionStorage.removeItem(STORAGE_KEY);
}

export function makeClient(apiKey: string): VidRelay {
  return new VidRelay({ apiKey, baseURL: window.location.origin, maxRetries: 1 });
}

/** Check a key against the gateway: its identity, or the SDK's error (401 for a bad key). */
export async function whoAmI(client: VidRelay): Promise<WhoAmI> {
  return client.me();
}
