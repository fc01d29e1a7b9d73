# syntax=docker/dockerfile:1
#
# One image per app, a target each:
#   docker build --target cheese-service -t cheese-farm-soccer/cheese-service:dev .
#   (soccer-service, gateway; `certs` is the one-shot that makes the compose stack's TLS material)
#
# Each app's CMD is `node <NODE_ARGS> <entry>` of libs/launcher/src/apps.ts, the command
# `npm run start:<app>`, `npm start` and the e2e tests run (test/deploy.e2e-spec.ts
# keeps them equal), run by node directly: npm as PID 1 would not pass SIGTERM on. The apps
# handle SIGTERM themselves (graceful shutdown) and reap their ffmpeg children, so no init.
# HEALTHCHECK runs dist/scripts/healthcheck.js; test/container-commands.e2e-spec.ts runs both.

# The Node of the `node` devDependency that runs the tests (a test keeps them equal).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# ---- build: all dependencies, then TypeScript, the protos and the web page into dist/
FROM base AS build
COPY package.json package-lock.json ./
# No install scripts: nothing the build needs runs one (binaries ship in packages). The
# image's Node (the same version) runs the build: the `node` devDependency's binary would
# come from an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY libs libs
COPY apps apps
COPY scripts scripts
RUN npm run build

# ---- production dependencies only. The @ffmpeg-installer binaries go: soccer-service
# uses Debian's ffmpeg. (Not --omit=optional: sharp's native binaries are optional deps.)
FROM base AS prod-deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && rm -rf node_modules/@ffmpeg-installer node_modules/@ffprobe-installer \
  && npm cache clean --force

# ---- what every app image holds. Code and dependencies stay root-owned: the app
# (user node) cannot change them. package.json is read at run time ("imports", ESM).
FROM base AS app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
STOPSIGNAL SIGTERM

FROM app AS cheese-service
EXPOSE 4000 9400
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "cheese-service"]
CMD ["node", "--max-semi-space-size=1", "dist/apps/cheese-service/src/main.js"]

FROM app AS gateway
EXPOSE 3000
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "gateway"]
CMD ["node", "--max-semi-space-size=1", "dist/apps/gateway/src/main.js"]

# ffmpeg/ffprobe from Debian (security updates with the distribution), installed before
# the app is copied in so that a code change does not reinstall them. MEDIA_DIR is owned
# by node: a fresh named volume mounted there takes that owner and is writable by the app.
FROM base AS soccer-service
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /app/media \
  && chown node:node /app/media
COPY --from=app /app /app
ENV NODE_ENV=production \
    MEDIA_DIR=/app/media \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe
STOPSIGNAL SIGTERM
EXPOSE 4001 9401
USER node
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "soccer-service"]
CMD ["node", "--max-semi-space-size=1", "dist/apps/soccer-service/src/main.js"]

# ---- the compose stack's one-shot: `npm run certs` (scripts/certs.mjs, openssl) into
# /certs-ca, then everything but the CA's key into /certs, which the apps mount.
FROM base AS certs
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /certs /certs-ca \
  && chown node:node /certs /certs-ca
COPY scripts/certs.mjs scripts/certs.mjs
COPY deploy/compose/certs.sh deploy/compose/certs.sh
ENV CERTS_DIR=/certs-ca
USER node
CMD ["sh", "deploy/compose/certs.sh", "/certs"]
