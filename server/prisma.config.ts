/**
 * Prisma CLI configuration, used only by `pnpm run generate` (the hub itself never runs the CLI).
 *
 * Before generate/validate/format, Prisma 7's CLI downloads a native schema engine from a host that is not reachable
 * here, although those commands never execute it. Prisma's documented override `PRISMA_SCHEMA_ENGINE_BINARY` points
 * it at a stand-in script instead; commands that would run the engine (migrate, db) get its explanation and exit 1.
 * Migrations are applied by `ganymede db migrate` (src/store/migrate.ts) and created by scripts/create-migration.ts,
 * both through the schema engine's WebAssembly build.
 *
 * There are two schemas, prisma/sqlite and prisma/postgresql; the generate script passes each with --schema.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";

const here = path.dirname(fileURLToPath(import.meta.url));
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= path.join(here, "scripts/no-schema-engine.sh");
// No update check or telemetry: the network is not there, and generate must not wait for it.
process.env.CHECKPOINT_DISABLE ??= "1";
process.env.PRISMA_HIDE_UPDATE_MESSAGE ??= "1";

export default defineConfig({});
