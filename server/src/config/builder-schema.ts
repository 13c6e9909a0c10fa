/**
 * The `builder` section: Binder launches (a git repository → an image → a running server). Kept apart from
 * schema.ts so that file only names the section. Launches need a spawner backend that runs images (docker, kubernetes).
 */
import { z } from "zod";
import { BUILD_BACKEND_NAMES, BUILD_BACKENDS, buildBackendSections, type BuildBackendEntry } from "../builder/build/backends.js";
import { imagePrefixProblems } from "../builder/image-name.js";
import { DEFAULT_JUPYTER_PACKAGES } from "../builder/buildpacks/options.js";

const registry = z
  .object({
    url: z
      .string()
      .regex(/^https?:\/\/[^/\s]+\/?$/, { error: "must be http(s)://host[:port]" })
      .describe("The registry images are pushed to and looked up in, e.g. http://127.0.0.1:5000 (plain http only on loopback)."),
    username: z.string().optional().describe("Registry user, when it needs one."),
    password: z.string().optional().describe("Registry password (secret: never logged)."),
  })
  .strict();

export const builderSchema = z
  .object({
    enabled: z.boolean().default(false).describe("Offer Binder launches (the form on Home, /v2/… links, /build/…)."),
    backend: z
      .enum(BUILD_BACKEND_NAMES)
      .default("docker")
      .describe("What builds images: `docker`, a Docker engine's builder (see builder.docker), or `kubernetes`, BuildKit in a pod per build (see builder.kubernetes)."),
    ...buildBackendSections,
    registry: registry.optional().describe("Where built images live; needed when enabled."),
    imagePrefix: z
      .string()
      .default("ganymede-binder/")
      .superRefine((prefix, ctx) => {
        for (const problem of imagePrefixProblems(prefix)) ctx.addIssue({ code: "custom", message: problem });
      })
      .describe("Prefix of built image names inside the registry: <registry>/<prefix><repo-slug>:<commit>."),
    maxConcurrentBuilds: z.number().int().min(1).default(2).describe("Builds running at once on this hub; more wait in a queue."),
    baseImage: z.string().default("ganymede/base:bookworm").describe("The base image of generated Dockerfiles (scripts/make-base-image.sh builds one)."),
    basePython: z.string().regex(/^3\.\d+$/).default("3.11").describe("The Python version baseImage provides (major.minor)."),
    pythonImages: z.record(z.string(), z.string()).default({}).describe('More Python versions for runtime.txt: { "3.12": "registry/base:py3.12" }.'),
    condaBaseImage: z.string().optional().describe("A base image with micromamba, for environment.yml repositories (refused without one)."),
    jupyterPackages: z.array(z.string()).default(DEFAULT_JUPYTER_PACKAGES).describe("Jupyter in every built image (pip specifiers)."),
    pipIndexUrl: z.string().url().optional().describe("A PyPI mirror for builds (PIP_INDEX_URL), for sites without internet."),
    allowHttp: z
      .boolean()
      .default(false)
      .describe("Accept http:// repository URLs (test setups); https only otherwise. Private hosts are a policy matter."),
    hosts: z
      .object({ github: z.string().optional(), gitlab: z.string().optional(), gist: z.string().optional() })
      .strict()
      .default({})
      .describe("Hosts of the gh/gl/gist providers (GitHub Enterprise, a site's own GitLab)."),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.enabled) {
      const chosen: BuildBackendEntry<z.ZodType> = BUILD_BACKENDS[value.backend];
      for (const [field, message] of chosen.requirements?.(value[value.backend]) ?? []) {
        ctx.addIssue({ code: "custom", path: [value.backend, field], message });
      }
    }
    if (value.enabled && !value.registry) {
      ctx.addIssue({ code: "custom", path: ["registry"], message: "builder.enabled needs a registry (url) to push built images to" });
    }
  })
  .prefault({});

export type BuilderConfig = z.output<typeof builderSchema>;
