# syntax=docker/dockerfile:1
# trainer's images, one build for all (docker-compose.yml and deploy/ name the targets):
#   api          the HTTP API and dashboard (the default target)
#   worker       a training worker
#   worker-gpu   a training worker on an NVIDIA GPU: libtensorflow's CUDA build on a CUDA base image
# The build stages have internet access and a compiler, so the native backend's install script can
# download libtensorflow; where it cannot, api and worker still work and train on WebAssembly.

# A maintained Node.js LTS; package.json's engines (>= 20.19) stay what local installs need.
ARG NODE_IMAGE=node:24-bookworm-slim
# tfjs-node-gpu 4.22 downloads libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1; any CUDA 11.x
# from 11.2 on with cuDNN 8 runs it (the same library sonames). The host driver must support CUDA 11.8.
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04

# Named, so later stages can copy Node.js itself out of it (COPY --from takes no build arguments).
FROM ${NODE_IMAGE} AS nodejs

FROM nodejs AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts ./scripts
# The client package is a workspace: npm ci links it, the build compiles it.
COPY packages ./packages
COPY prisma ./prisma
# package.json's allowScripts lets tfjs-node's install script run under npm 11 as well.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY web ./web
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# The GPU worker's dependencies: the same tree, with @tensorflow/tfjs-node resolved to tfjs-node-gpu
# through an npm alias, so the code that loads the native backend loads the CUDA build unchanged. It
# runs on the CUDA image itself, so a binding compiled from source (when no prebuilt one downloads)
# links against the libraries it will run with. `npm install <package>` runs no script of the root
# package (its postinstall needs the Prisma CLI, a dev dependency), only the new package's own.
FROM ${CUDA_IMAGE} AS build-gpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=nodejs /usr/local/bin/node /usr/local/bin/node
COPY --from=nodejs /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
# The package is optional in package.json, so npm would drop it quietly if its install script failed:
# the check after it fails the build instead, naming what is missing.
RUN npm install --no-save --omit=dev --no-audit --no-fund \
      '@tensorflow/tfjs-node@npm:@tensorflow/tfjs-node-gpu@4.22.0' \
 && node -e " \
      const fs = require('node:fs'); \
      const manifest = require.resolve('@tensorflow/tfjs-node/package.json'); \
      const { name } = require(manifest); \
      if (name !== '@tensorflow/tfjs-node-gpu') throw new Error('@tensorflow/tfjs-node is ' + name); \
      const preGyp = require.resolve('@mapbox/node-pre-gyp', { paths: [require('node:path').dirname(manifest)] }); \
      const binding = require(preGyp).find(manifest); \
      if (!fs.existsSync(binding)) throw new Error('no tfjs-node-gpu binding at ' + binding); \
      console.log('tfjs-node-gpu binding:', binding);"

# What the api and worker images share: the built app, its production dependencies, a non-root user.
FROM nodejs AS runtime
# HOST also sets AUTH's default, which a worker's sweep driver follows for owners' quotas: the same everywhere.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web-dist ./web-dist
COPY --from=build /app/prisma ./prisma
# The node user, by number, so Kubernetes' runAsNonRoot can check it without being told a UID.
USER 1000:1000

FROM ${CUDA_IMAGE} AS worker-gpu
# TensorFlow takes GPU memory as it needs it rather than all at once, and keeps its compiled-kernel
# cache in /tmp, which stays writable when the root filesystem is mounted read-only.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    TF_FORCE_GPU_ALLOW_GROWTH=true \
    CUDA_CACHE_PATH=/tmp/cuda-cache
RUN groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --create-home --shell /usr/sbin/nologin node
COPY --from=nodejs /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build-gpu /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER 1000:1000
CMD ["node", "--disable-proto=delete", "dist/main/worker.js"]

FROM runtime AS worker
# A worker serves no HTTP; it shows it is alive by renewing its queue locks and job leases.
HEALTHCHECK NONE
CMD ["node", "--disable-proto=delete", "dist/main/worker.js"]

# Last, so a plain `docker build .` builds the API.
FROM runtime AS api
EXPOSE 3000
# /health/live, not /health: an API that answers is healthy even while Postgres or Redis is down
# (then /health says 503 and which one); restarting it would not bring them back.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--disable-proto=delete", "dist/main/api.js"]
