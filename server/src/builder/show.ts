/**
 * How user input appears inside refusal messages: quoted, escaped (a control character in a ref must not become a
 * line break in the log) and cut, so a 5000-character URL does not become a 5000-character message.
 */
const MAX_SHOWN = 100;

export function shown(value: string, max = MAX_SHOWN): string {
  const chars = [...value];
  return JSON.stringify(chars.length > max ? `${chars.slice(0, max).join("")}…` : value);
}

/** A URL for messages: credentials replaced by `***` (it may be the URL we refuse *because* it has them). */
export function shownUrl(raw: string): string {
  return shown(raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, "$1***@"));
}
