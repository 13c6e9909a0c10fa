/**
 * Pure helpers for the LDAP backend: what people type → the name searched for, values → escaped filter and DN
 * fragments, group DNs → group names. No I/O, so they are tested by plain equality.
 */

/**
 * `alice`, `ALICE`, `alice@ad.example.org` (a UPN) and `EXAMPLE\alice` (down-level logon name) → `alice`.
 * With stripDomain off only case and surrounding space change.
 */
export function normaliseLogin(input: string, stripDomain: boolean): string {
  let name = input.trim();
  if (stripDomain) {
    const backslash = name.lastIndexOf("\\");
    if (backslash >= 0) name = name.slice(backslash + 1);
    const at = name.lastIndexOf("@");
    if (at > 0) name = name.slice(0, at);
  }
  return name.toLowerCase();
}

/** RFC 4515: a value inside a search filter, so `*)(uid=*` is a literal name and not filter syntax. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** RFC 4514: a value inside a DN (direct-bind templates such as `uid={{username}},ou=people,…`). */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=\0]/g, (c) => (c === "\0" ? "\\00" : `\\${c}`))
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, "\\ ");
}

/** Fills `{{name}}` placeholders; each value is escaped by the caller's rule. Unknown placeholders stay. */
export function fillTemplate(template: string, values: Record<string, string>, escape: (v: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (whole, key: string) => (key in values ? escape(values[key]!) : whole));
}

/**
 * The name of a group from its DN: the value of the first RDN, unescaped (`CN=Data Science,OU=Groups,DC=…` →
 * `Data Science`). Returns undefined for something that is not a DN.
 */
export function groupNameFromDn(dn: string): string | undefined {
  const match = /^\s*[A-Za-z][\w.-]*\s*=\s*((?:\\.|[^,+\\])*)/.exec(dn);
  if (!match) return undefined;
  // Runs of hex escapes are UTF-8 bytes (`\c3\a9` is é); other escapes stand for the character itself.
  const value = match[1]!
    .trim()
    .replace(/((?:\\[0-9a-fA-F]{2})+)|\\(.)/g, (_, hex: string | undefined, char: string | undefined) =>
      hex ? Buffer.from(hex.replaceAll("\\", ""), "hex").toString("utf8") : char!,
    );
  return value || undefined;
}

/** An attribute of an ldapjs entry object as a list (ldapjs gives one value as a string, several as an array). */
export function attributeValues(entry: Record<string, unknown>, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
