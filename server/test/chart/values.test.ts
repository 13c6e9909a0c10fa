/**
 * The chart's values against the hub's own schemas, cross-field rules included (values.schema.json, which Helm
 * checks at install, cannot express those): the defaults and every example file must be values the hub accepts, and
 * what the hub refuses must be refused here with its words. `scripts/chart.sh check` renders and validates the
 * manifests themselves with helm and kubeconform.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { chartValuesSchema } from "../../scripts/chart-values.js";
import { GANYMEDE_VERSION } from "../../src/version.js";
import { repoRoot } from "../support/paths.js";

const chart = path.join(repoRoot, "charts/ganymede");
const read = (file: string): Record<string, unknown> => YAML.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

/** Helm's merge of a values file over the defaults: maps merge key by key, anything else is replaced. */
function merge(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = merge(base[key], value);
  return out;
}
const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const problems = (values: unknown) => {
  const result = chartValuesSchema.safeParse(values);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("the chart's values", () => {
  const defaults = read(path.join(chart, "values.yaml"));

  it("has defaults the hub accepts, with a default policy setting every limit", () => {
    expect(problems(defaults)).toEqual([]);
  });

  const examples = readdirSync(path.join(chart, "examples")).filter((f) => f.endsWith(".yaml"));
  it.each(examples)("accepts the example %s", (file) => {
    expect(examples.length).toBeGreaterThanOrEqual(5);
    expect(problems(merge(defaults, read(path.join(chart, "examples", file))))).toEqual([]);
  });

  it("installs the hub's own version: the chart's appVersion (the hub image's tag) and the servers' default image", () => {
    expect(read(path.join(chart, "Chart.yaml")).appVersion).toBe(GANYMEDE_VERSION);
    expect(defaults).toMatchObject({ hub: { config: { spawner: { kubernetes: { image: `ganymede/singleuser:${GANYMEDE_VERSION}` } } } } });
  });

  it("refuses a key neither the chart nor the hub knows, and a policy missing a limit, naming each", () => {
    const typo = merge(defaults, { hub: { config: { spawner: { startTimout: "2m" } } }, singleuser: { netwrokPolicy: {} } });
    expect(problems(typo)).toEqual(expect.arrayContaining([expect.stringMatching(/^hub\.config\.spawner: .*startTimout/), expect.stringMatching(/^singleuser: .*netwrokPolicy/)]));
    const policies = structuredClone(defaults) as { policies: { files: { default: { limits: Record<string, unknown> } } } };
    delete policies.policies.files.default.limits.cpu;
    expect(problems(policies)).toEqual([expect.stringMatching(/^policies\.files\.default\.limits\.cpu: the default policy must set every limit/)]);
  });

  it("refuses what the hub's cross-field rules refuse: Binder on servers that cannot run images", () => {
    const binderOnLocal = merge(defaults, { hub: { config: { spawner: { backend: "local" }, builder: { enabled: true, registry: { url: "https://registry.example.org" } } } } });
    expect(problems(binderOnLocal)).toEqual([expect.stringMatching(/^hub\.config\.builder\.enabled: Binder launches run the images they build/)]);
  });

  it("allows several hub replicas only on PostgreSQL", () => {
    expect(problems(merge(defaults, { hub: { replicas: 2 } }))).toEqual(["hub.replicas: more than one hub replica needs hub.database: postgresql"]);
    expect(problems(merge(defaults, { hub: { replicas: 3, database: "postgresql" } }))).toEqual([]);
  });
});
