/**
 * helm and kubectl for the chart's tests, bound to one namespace of the test cluster. helm is the binary
 * scripts/chart.sh builds (scripts/test-kubernetes.sh exports it as GANYMEDE_HELM); kubectl is Debian's.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { clusterKubeconfig } from "./kubernetes.js";
import { repoRoot } from "./paths.js";

const run = promisify(execFile);

export function helmIn(namespace: string) {
  const kubectl = (...args: string[]) => run("kubectl", ["--kubeconfig", clusterKubeconfig(), "--namespace", namespace, ...args]);
  return {
    helm(...args: string[]) {
      const binary = process.env.GANYMEDE_HELM;
      if (!binary) throw new Error("GANYMEDE_HELM is not set: run these tests with scripts/test-kubernetes.sh");
      return run(binary, [...args, "--namespace", namespace, "--kubeconfig", clusterKubeconfig()], { maxBuffer: 16 * 2 ** 20 });
    },
    kubectl,
    /**
     * `helm install|upgrade <release> charts/ganymede -f <values> --wait`; a failure says what the cluster says of
     * the release's pods (events, conditions) and the hub's last log lines.
     */
    async release(command: "install" | "upgrade", release: string, valuesFile: string): Promise<void> {
      await this.helm(command, release, path.join(repoRoot, "charts/ganymede"), "-f", valuesFile, "--wait", "--timeout", "4m").catch(async (err: Error) => {
        const said = await Promise.all([
          kubectl("describe", "pod", "-l", `app.kubernetes.io/instance=${release}`).then((r) => r.stdout, (e: Error) => e.message),
          kubectl("logs", "-l", `app.kubernetes.io/name=ganymede-hub,app.kubernetes.io/instance=${release}`, "--tail", "60").then((r) => r.stdout, (e: Error) => e.message),
        ]);
        throw new Error(`${err.message}\n${said.join("\n")}`);
      });
    },
  };
}
