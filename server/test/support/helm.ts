/**
 * helm and kubectl for the chart's tests, bound to one namespace of the test cluster. helm is the binary
 * scripts/chart.sh builds (scripts/test-kubernetes.sh exports it as GANYMEDE_HELM); kubectl is Debian's.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { clusterKubeconfig } from "./kubernetes.js";

const run = promisify(execFile);

export function helmIn(namespace: string) {
  return {
    helm(...args: string[]) {
      const binary = process.env.GANYMEDE_HELM;
      if (!binary) throw new Error("GANYMEDE_HELM is not set: run these tests with scripts/test-kubernetes.sh");
      return run(binary, [...args, "--namespace", namespace, "--kubeconfig", clusterKubeconfig()], { maxBuffer: 16 * 2 ** 20 });
    },
    kubectl: (...args: string[]) => run("kubectl", ["--kubeconfig", clusterKubeconfig(), "--namespace", namespace, ...args]),
  };
}
