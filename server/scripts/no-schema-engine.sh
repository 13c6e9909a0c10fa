#!/bin/sh
# Stands in for Prisma's native schema engine, which its CLI would download from a host that is not reachable.
# `prisma generate` only needs the file to exist (see the "generate" script in package.json); anything that would
# actually run it (prisma migrate, prisma db …) is told what to use instead.
echo "The Prisma CLI's schema engine is not installed: use \`ganymede db migrate\` to apply migrations," >&2
echo "and server/scripts/create-migration.ts to create them." >&2
exit 1
