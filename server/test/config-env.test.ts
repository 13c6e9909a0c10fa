/** GANYMEDE_* environment overrides: settings are the names with a section; the scripts' own variables are left alone. */
import { describe, expect, it } from "vitest";
import { applyEnvOverrides } from "../src/config/load.js";

describe("applyEnvOverrides", () => {
  it("sets section.key from GANYMEDE_SECTION__KEY, values read as YAML scalars", () => {
    const tree = applyEnvOverrides({}, { GANYMEDE_SPAWNER__START_TIMEOUT: "30s", GANYMEDE_SPAWNER__LOCAL__COMMAND: '["jupyter","server"]' });
    expect(tree).toEqual({ spawner: { startTimeout: "30s", local: { command: ["jupyter", "server"] } } });
  });

  it("leaves alone GANYMEDE_* variables without a section (the scripts' and tests' own)", () => {
    const env = { GANYMEDE_CONFIG: "/etc/g.yaml", GANYMEDE_TEST_KUBECONFIG: "/k", GANYMEDE_BINDER_DIR: "/b", GANYMEDE_TEST_LOG: "info", PATH: "/bin" };
    expect(applyEnvOverrides({}, env)).toEqual({});
  });
});
