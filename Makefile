# The original project's make targets, with the original's meanings (a user of
# the original types them from memory), plus extras under names of their own.
# Each is a thin wrapper over an npm script or docker compose, so there is one
# place for every command: package.json and compose.yaml. Pass arguments with
# ARGS, e.g. `make run ARGS="--port 6000"` or `make client ARGS="--name Alice"`.
COMPOSE ?= docker compose
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help build run build-dev dev server client test test-integration lint proto watch tui down smoke cluster

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

build: ## build the server here: install the dependencies and type-check (tsx runs the sources as they are)
	npm ci
	npm run typecheck

run: ## run the server here (npm start)
	npm start -- $(ARGS)

build-dev: ## build the dev image (chat-grpc:local)
	$(COMPOSE) build

dev: ## bring up the whole environment: server, OTel collector, Jaeger, Prometheus
	$(COMPOSE) up --build

server: ## bring up only the chat-grpc service in Compose (not the collector, Jaeger or Prometheus)
	$(COMPOSE) up --build --no-deps chat-grpc

client: ## open chat-tui inside Compose, against the stack's server
	$(COMPOSE) run --rm client $(ARGS)

test: ## every test (npm test: lint, then jest)
	npm test

test-integration: ## the integration and end-to-end tests only
	npm run test:integration

lint: ## buf lint, gen/ freshness, buf breaking, tsc
	npm run lint

proto: ## regenerate gen/ from proto/ with buf
	npm run generate

watch: ## run the server here, restarted when a source file changes
	npm run dev -- $(ARGS)

tui: ## run chat-tui here
	npx chat-tui $(ARGS)

cluster: ## bring up the stack with profile cluster: NATS and two server replicas that share rooms through it
	$(COMPOSE) --profile cluster up --build

down: ## stop the Compose stack and remove its containers
	$(COMPOSE) down

smoke: ## build the image and check it on a Docker engine: healthy, chats, drains
	bash scripts/docker-smoke.sh $(ARGS)
