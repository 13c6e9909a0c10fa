/**
 * The hub's logger. Secrets never reach a log: request headers carrying credentials and any field named like a
 * secret are redacted by pino before serialisation.
 */
import { pino, type DestinationStream, type Logger } from "pino";

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

/** `destination` defaults to standard output (tests pass a stream to read what was logged). */
export function createLogger(level: string = "info", destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACT, censor: "[redacted]" }, base: undefined };
  return destination ? pino(options, destination) : pino(options);
}
