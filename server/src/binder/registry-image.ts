import type { BuilderConfig } from "../config/builder-schema.js";

/** The full image reference in the configured registry: `127.0.0.1:5000/ganymede-binder/repo-1a2b3c4d:<commit>`. */
export function registryImage(config: Pick<BuilderConfig, "registry">, name: string): string {
  if (!config.registry) return name;
  return `${new URL(config.registry.url).host}/${name}`;
}
