# syntax=docker/dockerfile:1
#
# Baton's container image: `docker build -t baton .` (or `docker compose up`, see compose.yaml).
# Two stages: `build` installs every dependency, generates the Prisma client and compiles to dist/;
# the final stage installs production dependencies only and copies dist/ in. No secret is baked in:
# tokens and DATABASE_URL come from the environment at run time (docs/deploy.md).
#
# The rules this file keeps are checked offline by test/deploy/deploy.test.ts (the image build
# itself cannot run where Baton is developed: no base image can be pulled there).

# The Node line the project is tested on (package.json engines, CI). Pinned to a full version:
# a rebuild gets the same Node, and an upgrade is a reviewed one-line change in both stages.
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app

# Dependencies first, so a source-only change reuses this layer. --ignore-scripts: the only install
# scripts in the tree are dev tools' (esbuild, @parcel/watcher) and Prisma's engine download, none
# needed to compile; the Prisma client is generated explicitly below, offline.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

COPY scripts/prisma-generate.mjs scripts/
COPY prisma ./prisma
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bots ./bots
COPY blocks ./blocks
# The Prisma client (src/generated, kept out of the context by .dockerignore) from this schema,
# then src/, bots/ and blocks/ compiled to dist/ (the client with them).
RUN npm run db:generate && npm run build


FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    BATON_DATA_DIR=/var/lib/baton
WORKDIR /app

# Production dependencies only. --ignore-scripts: no production dependency needs an install
# script (the test checks package-lock.json for that), and Baton's own postinstall would only
# regenerate a client that dist/ already holds.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# What Baton reads at run time besides node_modules: the compiled code, the migrations it applies
# at start, the console's static files, and the sample playbook (mount your own over it, or set
# BATON_PLAYBOOK). package.json marks the project root and "type": "module".
COPY --from=build /app/dist ./dist
COPY prisma/migrations ./prisma/migrations
COPY bots/console/public ./bots/console/public
COPY playbook.yml ./

# The data directory is used only without DATABASE_URL (embedded PGlite: one container, with a
# volume here) or without BATON_API_TOKEN; Baton keeps it 0700.
RUN mkdir -p /var/lib/baton && chown 1000:1000 /var/lib/baton && chmod 0700 /var/lib/baton

# The image's `node` user, by number so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 1000:1000

EXPOSE 3000

# Liveness only: /healthz answers while the process serves HTTP. Readiness (/readyz, the database)
# is for the load balancer, not a reason to restart the container. The slim image has no curl.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# node itself, not npm start: npm's prestart would compile again, and npm does not pass SIGTERM on
# in every version, while Baton shuts down on it (bots/main.ts).
CMD ["node", "dist/bots/main.js"]
