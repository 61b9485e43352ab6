# Stand-in for minio/minio on a machine that cannot pull it (built by deploy/docker/setup.sh): the MinIO
# server and the mc client built from their Go modules, with the official image's entrypoint rule
# (arguments that do not start with `minio` are given to it) and its defaults.
FROM podstore-local/debian:bookworm
COPY minio mc /usr/bin/
ENV MINIO_ACCESS_KEY_FILE=access_key MINIO_SECRET_KEY_FILE=secret_key \
  MINIO_ROOT_USER_FILE=access_key MINIO_ROOT_PASSWORD_FILE=secret_key \
  MINIO_CONFIG_ENV_FILE=config.env MC_CONFIG_DIR=/tmp/.mc
RUN printf '#!/bin/sh\nif [ "$1" != minio ] && [ -n "$1" ]; then set -- minio "$@"; fi\nexec "$@"\n' \
    > /usr/bin/docker-entrypoint.sh \
  && chmod +x /usr/bin/docker-entrypoint.sh /usr/bin/minio /usr/bin/mc
EXPOSE 9000
VOLUME ["/data"]
ENTRYPOINT ["/usr/bin/docker-entrypoint.sh"]
CMD ["minio"]
