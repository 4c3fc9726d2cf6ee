# syntax=docker/dockerfile:1
# losstune in a container: the image of compose.yaml's search, workers and MLflow server.
#
#   docker build -t losstune .
#   docker run --rm -v "$PWD/data:/data:ro" losstune search /data/train.csv --target label
#
# Layers, slowest to change first: the pinned CPU build of torch (as the Makefile installs it:
# first, so pip never pulls a multi-GB CUDA build for the project's `torch` requirement), then
# the dependencies read from pyproject.toml alone, then the code, installed without
# dependencies: a code change rebuilds only the last layer. No dev or bench extras; the
# `postgres` extra is in (the team setup keeps its study and MLflow store on PostgreSQL).
# Add `ray` for --backend ray: docker build --build-arg EXTRAS=postgres,ray .
# For a CUDA build of torch: --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG PYTHON_VERSION=3.11
FROM python:${PYTHON_VERSION}-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv "$VIRTUAL_ENV" \
    && pip install "setuptools>=77"

# losstune runs as a user (USER below): /work is its working folder, /runs the run folder
# that compose.yaml mounts (a named volume takes this ownership), /mlflow the MLflow server's
# artifacts.
RUN useradd --create-home --uid 10001 --user-group losstune \
    && mkdir -p /work /runs /mlflow \
    && chown losstune:losstune /work /runs /mlflow

# 1. torch, pinned to the CPU build
ARG TORCH_SPEC="torch==2.13.0"
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX_URL" "$TORCH_SPEC" \
    && echo "$TORCH_SPEC" > /opt/torch-constraint.txt

# 2. the dependencies, from pyproject.toml only (this layer is rebuilt when it changes)
WORKDIR /opt/losstune
COPY pyproject.toml ./
ARG EXTRAS=postgres
RUN python - "$EXTRAS" > /tmp/requirements.txt <<'EOF'
import re, sys, tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
extras = project.get("optional-dependencies", {})


def requirements(names, seen):
    for name in names:
        if name not in seen:
            seen.add(name)
            for req in extras[name]:
                own = re.fullmatch(rf"{project['name']}\[(.+)\]", req.replace(" ", ""))
                yield from requirements(own.group(1).split(","), seen) if own else [req]


wanted = [e for e in sys.argv[1].split(",") if e]
print("\n".join([*project["dependencies"], *requirements(wanted, set())]))
EOF
RUN pip install -c /opt/torch-constraint.txt -r /tmp/requirements.txt

# 3. the code, without dependencies
COPY README.md LICENSE ./
COPY losstune ./losstune
RUN pip install --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info \
    && losstune --help > /dev/null

USER losstune
WORKDIR /work

ENTRYPOINT ["losstune"]
CMD ["--help"]
