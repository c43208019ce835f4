import { isPrivateAddress, parseIp } from "./address-policy.ts";

/** Whether the gateway's public origin can be fetched by a provider on the internet. */
export function originIsPublic(publicUrl: string): boolean {
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".local") ||
    host.endsWith(".internal")
  )
    return false;
  return parseIp(host) ? !isPrivateAddress(host) : true;
}
