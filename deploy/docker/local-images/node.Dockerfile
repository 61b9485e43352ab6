# Stand-in for node:20-bookworm-slim on a machine that cannot pull it (built by deploy/docker/setup.sh):
# Debian bookworm with this machine's Node 20 (node, npm, corepack in /usr/local, as in the official
# image), the `node` user (uid 1000) and the machine's certificate authorities, so that npm reaches the
# registry the way the machine itself does.
FROM podstore-local/debian:bookworm
ADD node-dist.tar /usr/local/
COPY ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && update-ca-certificates \
  && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && ln -s ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' > /usr/local/etc/npmrc \
  && node --version && npm --version
ENV NODE_VERSION=20
CMD ["node"]
