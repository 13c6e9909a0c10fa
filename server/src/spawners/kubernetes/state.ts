/** What the hub persists for a server's pod: enough for a new hub process to find it, its claim and its Secret. */
import { z } from "zod";

export const kubernetesStateSchema = z.object({
  namespace: z.string(),
  pod: z.string(),
  /** The pod of this start (a pod of the same name made later is another one). */
  podUid: z.string().optional(),
  claim: z.string(),
  secret: z.string(),
  /** Whether the start made the claim (a failed first start then removes it). */
  claimCreated: z.boolean(),
  startedAt: z.string(),
});

export type KubernetesState = z.infer<typeof kubernetesStateSchema>;
