/**
 * Reads a policy directory: every `*.yaml` / `*.yml` file directly inside it (subfolders such as `examples/` are
 * not loaded), one policy per file. Reading never throws: unreadable directories, YAML syntax errors and schema
 * errors all come back as problems naming the file and the field, so `policy check` can list them all at once.
 *
 * Files are followed through symlinks because Kubernetes mounts a ConfigMap as `default.yaml -> ..data/default.yaml`;
 * dot-entries (`..data`, editor lock files) are skipped.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { assemblePolicySet, validatePolicy, type PolicyEntry, type PolicySetResult } from "./set.js";

const POLICY_FILE = /\.ya?ml$/i;

/** Policy file names in `dir`, sorted. Throws when the directory cannot be read. */
export async function listPolicyFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => POLICY_FILE.test(n) && !n.startsWith(".")).sort();
  const files: string[] = [];
  for (const name of names) {
    const info = await stat(path.join(dir, name)).catch(() => undefined);
    // A dangling symlink is kept so that reading it reports the problem; folders are never policies.
    if (!info || info.isFile()) files.push(name);
  }
  return files;
}

/** Loads and validates every policy in `dir`. `set` is present only when there is no problem at all. */
export async function loadPolicyDir(dir: string): Promise<PolicySetResult> {
  const label = path.normalize(dir).replace(/(.)\/+$/, "$1");
  let names: string[];
  try {
    names = await listPolicyFiles(dir);
  } catch (err) {
    return { problems: [`${label}: cannot read the policy directory: ${errorText(err)}`], files: [] };
  }
  const entries = await Promise.all(names.map((name) => readPolicyFile(path.join(dir, name))));
  return assemblePolicySet(label, entries);
}

async function readPolicyFile(file: string): Promise<PolicyEntry> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return { report: { file, valid: false, problems: [`cannot read: ${errorText(err)}`] } };
  }
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) {
    return { report: { file, valid: false, problems: doc.errors.map(yamlErrorText) } };
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) {
    return { report: { file, valid: false, problems: ["the file is empty"] } };
  }
  return validatePolicy(file, data);
}

function yamlErrorText(error: YAML.YAMLError): string {
  const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}: ` : "";
  if (error.code === "MULTIPLE_DOCS") return `${where}one policy per file (found a second YAML document)`;
  // yaml's message repeats the position and appends a source excerpt; keep the first clause only.
  const message = (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
  return `${where}YAML syntax: ${message}`;
}

function errorText(err: unknown): string {
  if ((err as NodeJS.ErrnoException | undefined)?.code === "ENOENT") return "it does not exist";
  return err instanceof Error ? err.message : String(err);
}

/**
 * A cheap summary of the directory (file names, sizes, modification times, inodes) that changes whenever a policy
 * file is added, removed, edited or swapped (ConfigMap updates replace the symlink target). Never throws.
 */
export async function policyDirFingerprint(dir: string): Promise<string> {
  try {
    const names = await listPolicyFiles(dir);
    const parts = await Promise.all(
      names.map(async (name) => {
        const info = await stat(path.join(dir, name)).catch(() => undefined);
        return info ? `${name}:${info.size}:${info.mtimeMs}:${info.ino}` : `${name}:missing`;
      }),
    );
    return parts.join("|");
  } catch (err) {
    return `unreadable:${errorText(err)}`;
  }
}
