/**
 * Reading the untyped submit body. Decision where the contract is silent: `null` is the same as an
 * absent field, everywhere except `model`.
 */

export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
export const present = (value: unknown): boolean => value !== undefined && value !== null;

export function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
