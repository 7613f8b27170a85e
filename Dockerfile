# orgguard in a small image: built with Rust's toolchain, run on Debian slim as a user
# without privileges. `docker build -t orgguard .` then
# `docker run --rm -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN -v "$PWD/plans:/plans:ro" orgguard audit --plan /plans/mine.toml`.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY plans ./plans
RUN cargo build --release --locked --bin orgguard

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work --create-home orgguard
COPY --from=build /src/target/release/orgguard /usr/local/bin/orgguard
USER 10001
WORKDIR /work
ENTRYPOINT ["orgguard"]
