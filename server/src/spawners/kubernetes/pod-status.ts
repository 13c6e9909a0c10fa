/**
 * Reading a pod's status the way someone waiting for their server needs it: what went wrong, in the cluster's own
 * words, and whether waiting longer can help. Pure functions of the pod object (unit-tested with recorded statuses).
 */
import type { V1ContainerStatus, V1Pod } from "@kubernetes/client-node";
import { stuckContainer } from "../../engines/kubernetes.js";
import { CONTAINER } from "./manifests.js";

export interface PodProblem {
  /** Waiting cannot help: the start fails now. */
  fatal: boolean;
  /** The container ended: the failure is an exit (with its code and log). */
  exited?: boolean;
  message: string;
}

function serverContainer(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER);
}

export function describePodProblem(pod: V1Pod): PodProblem | undefined {
  const container = serverContainer(pod);
  const stuck = stuckContainer(pod, CONTAINER);
  if (stuck?.retrying) return { fatal: false, message: `the kubelet is retrying (${stuck.reason}): ${stuck.message}` };
  if (stuck) {
    const what = stuck.pull ? `The image ${container?.image ?? ""} could not be pulled` : "The server's container could not be started";
    return { fatal: true, message: `${what} (${stuck.reason}): ${stuck.message}` };
  }
  if (container?.state?.terminated) return { fatal: true, exited: true, message: "the server exited" };
  const scheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False" && scheduled.reason === "Unschedulable") {
    return { fatal: false, message: `no node can take it: ${scheduled.message ?? "the scheduler gave no reason"}` };
  }
  return undefined;
}

/** The server container's exit, once it has one. */
export function podExit(pod: V1Pod): { exitCode: number; reason?: string } | undefined {
  const terminated = serverContainer(pod)?.state?.terminated;
  return terminated ? { exitCode: terminated.exitCode, reason: terminated.reason } : undefined;
}

/** The URL the hub's proxy reaches the server at. */
export function podEndpoint(ip: string, port: number): string {
  return ip.includes(":") ? `http://[${ip}]:${port}` : `http://${ip}:${port}`;
}
