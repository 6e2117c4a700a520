# Thin wrappers over npm scripts.
.PHONY: all build proto run test test-unit sim bench native-bench clean

all: build

build:
	npm run build

proto:
	node scripts/gen-proto.mjs --force

run: build
	node bin/etcd

test:
	npm test

test-unit: build
	npm run test:unit

sim: build
	npm run sim -- $(if $(SEED),--seed $(SEED),--seeds 200)

bench: build
	npm run bench -- $(ARGS)

native-bench: build
	npm run bench:native -- $(ARGS)

clean:
	rm -rf dist src/pb
