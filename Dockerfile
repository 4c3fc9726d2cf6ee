# losstune on a CUDA machine. The steps are the Makefile's, as tested on CPU: the base image
# already holds a CUDA build of torch, the venv sees it (--system-site-packages), and
# TORCH_SPEC names that same version, so `make install` adds only the project.
ARG BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime
FROM ${BASE_IMAGE}

RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/losstune
COPY pyproject.toml Makefile README.md ./
COPY losstune ./losstune
COPY examples ./examples

ENV VENV_ARGS=--system-site-packages \
    TORCH_SPEC="torch==2.13.0"
RUN make install PYTHON=python VENV_ARGS="$VENV_ARGS" TORCH_SPEC="$TORCH_SPEC"

ENV PATH=/opt/losstune/.venv/bin:$PATH
ENTRYPOINT ["losstune"]
CMD ["--help"]
