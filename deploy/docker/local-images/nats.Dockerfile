# Stand-in for nats:2.12-alpine on a machine that cannot pull it (built by deploy/docker/setup.sh):
# nats-server built from its Go module, wget for the health check, and the official image's
# entrypoint rule (arguments starting with `-` are given to nats-server).
FROM podstore-local/debian:bookworm
RUN apt-get update \
  && apt-get install -y --no-install-recommends wget \
  && rm -rf /var/lib/apt/lists/*
COPY nats-server /usr/local/bin/
RUN printf '#!/bin/sh\ncase "$1" in -*) set -- nats-server "$@";; esac\nexec "$@"\n' \
    > /usr/local/bin/docker-entrypoint.sh \
  && chmod +x /usr/local/bin/docker-entrypoint.sh /usr/local/bin/nats-server
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["nats-server"]
