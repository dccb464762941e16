# The two commands of the README. Each does all set-up first (packages, libvirtd).
# Run as root on Debian 12 (setup installs packages and starts libvirtd).
SWIFT ?= swift

.PHONY: demo test bench setup stop build docs

## Start a guest from the base image and drive it (the main job).
demo: build
	bash scripts/demo.sh

## Every test: unit, bindings, the integration suite on real guests, and the course CI
## (`vmlab validate`: every lab's reference solution earns full marks, an empty one fails).
test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test
	.build/debug/vmlab validate --junit .build/validate-junit.xml

## Benchmarks (figures and ratios against baselines measured in the same run): boot and
## provisioning against the kernel's own floor; lab starts and grading replays from saved
## baselines against cold ones; how many idle guests one host keeps (DENSITY_MAX limits it).
bench: build
	bash scripts/bench.sh
	bash scripts/start-bench.sh
	bash scripts/density-bench.sh

setup:
	bash scripts/setup.sh

stop:
	bash scripts/stop.sh

## Build output goes to stderr: stdout is for results.
build: setup
	$(SWIFT) build >&2

## Regenerate the documents vmlab generates (tests fail when a committed copy is stale).
docs:
	$(SWIFT) build >&2
	.build/debug/vmlab lab schema > docs/lab.schema.json
	.build/debug/vmlab lab reference --update docs/lab-authoring.md
	.build/debug/vmlab docs commands > docs/commands.md
