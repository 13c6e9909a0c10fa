/**
 * The Engine API's build and push answers: a 200 response whose body is a stream of JSON messages, one per line,
 * where failure is data (`{"error": …, "errorDetail": {"message": …}}`), not an HTTP status. Read here into typed
 * messages, and log text into whole, clean lines.
 */
import type { Readable } from "node:stream";

export interface EngineMessage {
  /** Build output (may hold several lines, or part of one). */
  stream?: string;
  /** Push/pull progress: "Preparing", "Pushing", "Pushed", "Layer already exists", "<tag>: digest: … size: …". */
  status?: string;
  /** The layer a status is about. */
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
  /** Build: `{ ID: "sha256:…" }` of the image; push: `{ Tag, Digest, Size }`. */
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
}

/**
 * Reads every message of `body` in order, awaiting `onMessage` (so a slow consumer slows the read, not the
 * memory). Resolves when the engine ends the stream; rejects when the connection breaks (or the signal aborts it).
 */
export async function readEngineStream(body: Readable, onMessage: (message: EngineMessage) => void): Promise<void> {
  body.setEncoding("utf8"); // a character split across two chunks stays whole
  let partial = "";
  const handle = (line: string) => {
    const text = line.trim();
    if (!text) return;
    try {
      onMessage(JSON.parse(text) as EngineMessage);
    } catch {
      onMessage({ stream: `${text}\n` }); // not JSON: show it rather than lose it
    }
  };
  for await (const chunk of body) {
    const lines = (partial + String(chunk)).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) handle(line);
  }
  handle(partial);
}

/** ANSI colour and cursor sequences, and other control characters but tab. */
const CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|[\x00-\x08\x0b-\x1f\x7f]/g;

/**
 * Splits build output into lines (the engine sends "Step 1/9 : FROM x" and its "\n" as two messages), without
 * control characters; a carriage-return redraw keeps only its last state.
 */
export class LineSplitter {
  private partial = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split("\n");
    this.partial = lines.pop() ?? "";
    for (const line of lines) this.emit(line);
  }

  flush(): void {
    if (this.partial) this.emit(this.partial);
    this.partial = "";
  }

  private emit(raw: string): void {
    const line = (raw.split("\r").filter((part) => part.trim() !== "").at(-1) ?? "").replace(CONTROL, "").trimEnd();
    if (line.trim()) this.onLine(line);
  }
}

/** The last `size` lines seen, for the message of a failed build. */
export class Tail {
  private readonly lines: string[] = [];

  constructor(private readonly size: number) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }

  get all(): string[] {
    return [...this.lines];
  }
}
