# Ledgerline server image.
#
#   deps       every dependency (dev included), exactly as the lockfile says, to compile with
#   build      `npm run build` (tsc + tsc-alias) into dist/
#   prod-deps  production dependencies only, from the same lockfile
#   runtime    node:24-bookworm-slim + production node_modules + dist/, as an unprivileged user
#
#   docker build -t ledgerline/server:local .
#
# Plain Dockerfile syntax only (no BuildKit-only `RUN --mount`), so both BuildKit and the classic
# builder that Debian's docker-compose 1.29 uses by default can build it.
#
# The base image is a moving tag. Release builds pin it by digest:
#   docker build --build-arg NODE_IMAGE=node:24-bookworm-slim@sha256:<digest> .
# Every stage uses the same base, so anything compiled at install time matches the runtime's ABI.

ARG NODE_IMAGE=node:24-bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# ---------------------------------------------------------------------------------------------
FROM deps AS build
# apps/ and libs/ only: bench/ (in tsconfig.build.json too) stays out of the context and the image.
COPY tsconfig.json tsconfig.build.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build \
 && test -f dist/apps/server/src/main.js

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# A fixed numeric uid/gid, so orchestrators can check runAsNonRoot and operators can chown
# secret files to it (deploy/README.md).
ARG LEDGERLINE_UID=10001
ARG LEDGERLINE_GID=10001

# The process starts with `node`, never npm: drop the package managers from the final image,
# they are attack surface and nothing runs them here.
RUN groupadd --system --gid "${LEDGERLINE_GID}" ledgerline \
 && useradd --system --uid "${LEDGERLINE_UID}" --gid ledgerline \
      --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin ledgerline \
 && install -d -o ledgerline -g ledgerline -m 0750 /var/lib/ledgerline \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*

LABEL org.opencontainers.image.title="Ledgerline server" \
      org.opencontainers.image.description="Event-sourced, compliance-first real-time communication core for healthcare applications" \
      org.opencontainers.image.licenses="Apache-2.0"

WORKDIR /app

# Configuration is environment variables only (libs/kernel/src/config/config.schema.ts).
# LEDGERLINE_HOST defaults to 127.0.0.1 outside containers; in a container it must listen on
# every interface to be reachable. The data directory holds the local key ring file, so it is a
# volume in docker-compose.yml.
ENV NODE_ENV=production \
    LEDGERLINE_HOST=0.0.0.0 \
    LEDGERLINE_PORT=3000 \
    LEDGERLINE_DATA_DIR=/var/lib/ledgerline

# Code and dependencies stay owned by root: the service user can read them, not change them.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Declarative policies, loaded and validated at start-up by the features that enforce them.
COPY policies ./policies

# No VOLUME here: mount one at /var/lib/ledgerline (compose: ledgerline-data). An empty named volume
# takes the ownership of the directory created above, so the service user can write its key ring.

USER ${LEDGERLINE_UID}:${LEDGERLINE_GID}

EXPOSE 3000

# No curl in the slim image: node itself asks GET /health/ready
# (apps/server/src/health/health.controller.ts: 200 ready, 503 draining or event store down).
# It calls 127.0.0.1, which LEDGERLINE_HOST=0.0.0.0 covers; bind to another single address and
# this check must change with it. The start period leaves room for migrations on first start.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const r=require('http').get({host:'127.0.0.1',port:process.env.LEDGERLINE_PORT||3000,path:'/health/ready',timeout:4000},(res)=>{res.resume();process.exit(res.statusCode===200?0:1)});r.on('timeout',()=>{r.destroy();process.exit(1)});r.on('error',()=>process.exit(1))"]

# The server drains connections and closes stores on SIGTERM within LEDGERLINE_SHUTDOWN_TIMEOUT_MS
# (10 s by default); give `docker stop` a longer timeout than that (compose: stop_grace_period).
# Node as PID 1 does not reap orphaned children: run with an init (`docker run --init`, compose
# `init: true`), which also forwards the signal.
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/server/src/main.js"]
