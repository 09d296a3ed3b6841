# The original project's make targets, each a thin wrapper over an npm script
# or docker compose, so there is one place for every command: package.json and
# compose.yaml. Pass arguments with ARGS, e.g. `make client ARGS="--name Alice"`.
COMPOSE ?= docker compose
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help build run run-client down smoke build-dev dev server client test test-integration lint proto

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

build: ## build the container image
	$(COMPOSE) build

run: ## run the stack: server, OTel collector, Jaeger, Prometheus
	$(COMPOSE) up --build

run-client: ## open chat-tui in a container against the stack's server
	$(COMPOSE) run --rm client $(ARGS)

down: ## stop the stack and remove its containers
	$(COMPOSE) down

smoke: ## build the image and check it on a Docker engine: healthy, chats, drains
	bash scripts/docker-smoke.sh $(ARGS)

build-dev: ## install the dev dependencies and type-check the sources (tsx runs them as they are)
	npm ci
	npm run typecheck

dev: ## run the server here, restarted when a source file changes
	npm run dev -- $(ARGS)

server: ## run the server here (npm start)
	npm start -- $(ARGS)

client: ## run chat-tui here
	npx chat-tui $(ARGS)

test: ## every test (npm test: lint, then jest)
	npm test

test-integration: ## the integration and end-to-end tests only
	npm run test:integration

lint: ## buf lint, gen/ freshness, buf breaking, tsc
	npm run lint

proto: ## regenerate gen/ from proto/ with buf
	npm run generate
