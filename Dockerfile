# syntax=docker/dockerfile:1
#
# One image per app, a target each:
#   docker build --target cheese-service -t cheese-farm-soccer/cheese-service:dev .
#   (soccer-service, gateway; `certs` is the one-shot that makes the compose stack's TLS material)
#
# Each app's CMD is `node <nodeArgs> <entry>` of libs/launcher/src/apps.ts, the command
# `npm run start:<app>`, `npm start` and the e2e tests run (test/deploy.e2e-spec.ts
# keeps them equal), run by node directly: npm as PID 1 would not pass SIGTERM on. The apps
# handle SIGTERM themselves (graceful shutdown) and reap their ffmpeg children, so no init.
# HEALTHCHECK runs dist/scripts/healthcheck.js; test/container-commands.e2e-spec.ts runs both.
# Its timeout is Docker's default, 30 s: a check slowed down by a busy CPU (a node process
# takes seconds to start on a saturated host) is no failed one; a hung app still fails it.

# The Node of the `node` devDependency that runs the tests (a test keeps them equal).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
WORKDIR /app

# ---- build: all dependencies, then TypeScript, the protos and the web page into dist/
FROM base AS build
COPY package.json package-lock.json ./
# No install scripts: nothing the build needs runs one (binaries ship in packages), and
# node-av's postinstall would download an ffmpeg CLI from GitHub (its libav* libraries ship
# in @seydx/node-av-linux-x64). The image's Node (the same version) runs the build: the
# `node` devDependency's binary would come from an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund \
  && rm -f node_modules/.bin/node
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY libs libs
COPY apps apps
COPY scripts scripts
RUN npm run build

# ---- production dependencies, without what the runtime never loads: source maps (no
# --enable-source-maps), type declarations, Markdown, @types, and typescript (only
# @nestjs/swagger's build plugin needs it). The @ffmpeg-installer binaries go too:
# soccer-service gets the ffmpeg below. (Not --omit=optional: sharp's native binaries are
# optional dependencies.) No install scripts (see build above).
# Two trees: /app/node_modules for every app, and /node-av/node_modules, the packages that
# only node-av needs (scripts/split-node-modules.mjs: node-av, its FFmpeg build
# @seydx/node-av-linux-x64, ~170 MB, and its optional werift* for WebRTC, unzipper and
# theirs), at the same paths, for soccer-service alone: the others never decode video.
FROM base AS prod-deps
COPY package.json package-lock.json ./
COPY scripts/split-node-modules.mjs scripts/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && node scripts/split-node-modules.mjs /node-av node-av \
  && rm -rf scripts node_modules/.bin node_modules/@ffmpeg-installer \
    node_modules/@ffprobe-installer node_modules/@types node_modules/typescript \
    /node-av/node_modules/@types \
  && find node_modules /node-av/node_modules -type f \( -name '*.map' -o -name '*.d.ts' \
    -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete \
  && npm cache clean --force

# ---- ffmpeg and ffprobe for soccer-service's decode path (`ffmpeg -i <file>.mp4 -f
# rawvideo -pix_fmt bgr24 pipe:1`, `ffprobe` of the video stream) and nothing else:
# built from Debian's source package (with the distribution's security fixes) with only
# the demuxers, parsers and decoders of the videos it plays, linked statically. Debian's
# ffmpeg package brings ~470 MB of libraries (X11, Mesa, LLVM, SDL, every codec), and
# every parser it has is one more that an uploaded file can reach.
FROM base AS ffmpeg
WORKDIR /usr/src
RUN sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources \
  && apt-get update \
  && apt-get install -y --no-install-recommends build-essential dpkg-dev nasm zlib1g-dev \
  && apt-get source --only-source ffmpeg \
  && rm -rf /var/lib/apt/lists/* \
  && cd ffmpeg-*/ \
  && ./configure --prefix=/opt/ffmpeg --disable-debug --disable-doc --disable-ffplay \
    --disable-autodetect --disable-network --enable-zlib --disable-everything \
    --enable-protocol=file,pipe \
    --enable-demuxer=mov,matroska,avi,mpegts,h264,hevc,m4v \
    --enable-parser=h264,hevc,mpeg4video,mpegvideo,vp8,vp9,mjpeg \
    --enable-decoder=h264,hevc,mpeg4,mpeg1video,mpeg2video,vp8,vp9,mjpeg \
    --enable-filter=scale,format,null --enable-encoder=rawvideo --enable-muxer=rawvideo \
  && make -j"$(nproc)" \
  && make install \
  && /opt/ffmpeg/bin/ffmpeg -hide_banner -version

# ---- a distroless-style root file system for the app images: node, the shared
# libraries it and the native modules (sharp, node-av) and ffmpeg load, user node, and no
# shell, package manager or other tool. The health check and `docker compose exec <app>
# node -e ...` need only node.
FROM base AS runtime
COPY --from=prod-deps /app/node_modules /app/node_modules
COPY --from=prod-deps /node-av/node_modules /app/node_modules
COPY --from=ffmpeg /opt/ffmpeg/bin /opt/ffmpeg/bin
RUN mkdir -p /rootfs/etc /rootfs/tmp /rootfs/usr/local/bin /media \
  && chmod 1777 /rootfs/tmp \
  && cp /etc/nsswitch.conf /rootfs/etc/ \
  && grep -E '^(root|node):' /etc/passwd | sed 's|:[^:]*$|:/usr/sbin/nologin|' >/rootfs/etc/passwd \
  && grep -E '^(root|node):' /etc/group >/rootfs/etc/group \
  && cp /usr/local/bin/node /rootfs/usr/local/bin/ \
  && find /usr/local/bin/node /opt/ffmpeg/bin /app/node_modules -type f \
    \( -name node -o -name 'ff*' -o -name '*.node' -o -name '*.so*' \) -exec ldd {} + 2>/dev/null \
  | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' \
  | grep -v '^/app/' | sort -u | xargs cp --parents -L -t /rootfs

# ---- what every app image holds. Code and dependencies stay root-owned: the app
# (user node) cannot change them. package.json is read at run time ("imports", ESM).
FROM scratch AS app
COPY --from=runtime /rootfs /
ENV PATH=/usr/local/bin:/usr/bin:/bin \
    NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
STOPSIGNAL SIGTERM

FROM app AS cheese-service
EXPOSE 4000 9400
USER node
HEALTHCHECK --interval=10s --timeout=30s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "cheese-service"]
CMD ["node", "--max-semi-space-size=8", "dist/apps/cheese-service/src/main.js"]

FROM app AS gateway
EXPOSE 3000
USER node
HEALTHCHECK --interval=10s --timeout=30s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "gateway"]
CMD ["node", "--max-semi-space-size=8", "--scavenger-max-new-space-capacity-mb=2", "dist/apps/gateway/src/main.js"]

# MEDIA_DIR is owned by node: a fresh named volume mounted there takes that owner and is
# writable by the app. node-av's packages join the others in node_modules (npm's tree as
# installed): video files decode in process, the ffmpeg below is the fallback
# (VIDEO_DECODER=ffmpeg).
FROM app AS soccer-service
COPY --from=prod-deps /node-av/node_modules node_modules
COPY --from=ffmpeg /opt/ffmpeg/bin/ffmpeg /opt/ffmpeg/bin/ffprobe /usr/local/bin/
COPY --from=runtime --chown=node:node /media /app/media
ENV MEDIA_DIR=/app/media \
    FFMPEG_PATH=/usr/local/bin/ffmpeg \
    FFPROBE_PATH=/usr/local/bin/ffprobe
EXPOSE 4001 9401
USER node
HEALTHCHECK --interval=10s --timeout=30s --start-period=30s --retries=3 \
  CMD ["node", "dist/scripts/healthcheck.js", "soccer-service"]
CMD ["node", "--max-semi-space-size=1", "dist/apps/soccer-service/src/main.js"]

# ---- the compose stack's one-shot: `npm run certs` (scripts/certs.mjs, openssl) into
# /certs-ca, then into /certs/<app>, each app's volume, only what that app needs.
FROM base AS certs
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl \
  && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /certs-ca /certs/gateway /certs/cheese-service /certs/soccer-service \
  && chown -R node:node /certs /certs-ca
COPY scripts/certs.mjs scripts/certs.mjs
COPY deploy/compose/certs.sh deploy/compose/certs.sh
ENV CERTS_DIR=/certs-ca
USER node
CMD ["sh", "deploy/compose/certs.sh", "/certs"]
