/**
 * A Dockerfile for the default base image, for sites that build their own: plain Debian bookworm plus what the
 * base image contract (options.ts) promises. `from` is any bookworm root image the site has, e.g. debian:bookworm-slim
 * or one imported from a debootstrap tree where no registry is reachable.
 */
import { run } from "./dockerfile-text.js";

export const BASE_IMAGE_PACKAGES = ["ca-certificates", "git", "python3", "python3-pip", "python3-venv"];

export function renderBaseImageDockerfile(from = "debian:bookworm-slim"): string {
  return [
    "# Ganymede's builder base image: Debian with Python 3, venv, pip, git and CA certificates; no Jupyter, no user.",
    `FROM ${from}`,
    "ENV DEBIAN_FRONTEND=noninteractive",
    run(
      "apt-get update -qq",
      `apt-get install --yes --no-install-recommends ${BASE_IMAGE_PACKAGES.join(" ")}`,
      "apt-get clean",
      "rm -rf /var/lib/apt/lists/*",
    ),
    "",
  ].join("\n");
}
