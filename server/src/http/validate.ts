/** Validates a request part with a zod schema; failures become one InputError listing every field. */
import type { z } from "zod";
import { InputError } from "../errors.js";

export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what = "request body"): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const validations = result.error.issues.map((i) => ({ field: i.path.join(".") || what, detail: i.message }));
  throw new InputError(`invalid ${what}: ${validations.map((v) => `${v.field}: ${v.detail}`).join("; ")}`, validations);
}
