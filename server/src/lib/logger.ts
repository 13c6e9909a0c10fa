/**
 * The hub's logger. Secrets never reach a log: request headers carrying credentials and any field named like a
 * secret are redacted by pino before serialisation.
 */
import { pino, type Logger } from "pino";

export type { Logger };

const REDACT = [
  "password",
  "*.password",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
];

export function createLogger(level: string = "info"): Logger {
  return pino({ level, redact: { paths: REDACT, censor: "[redacted]" }, base: undefined });
}
