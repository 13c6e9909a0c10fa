/**
 * The OpenAPI document of the REST API (server/openapi.yaml), parsed once and served at GET /hub/api/openapi.json.
 * The file is found relative to this module, which works from src/api (tsx) and from dist/api (after tsc) alike.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export const OPENAPI_FILE = new URL("../../openapi.yaml", import.meta.url);

let cached: Record<string, unknown> | undefined;

/** The parsed document. Throws (once per call until it succeeds) if the file is missing or is not a YAML mapping. */
export function openApiDocument(): Record<string, unknown> {
  if (cached) return cached;
  const doc: unknown = parse(readFileSync(OPENAPI_FILE, "utf8"));
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error(`${OPENAPI_FILE.pathname} does not hold an OpenAPI document`);
  }
  cached = doc as Record<string, unknown>;
  return cached;
}
