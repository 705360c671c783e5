# One image for every service; the command picks which one runs.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY config ./config
COPY scripts ./scripts
RUN pip install -e .
ENV HOST=0.0.0.0 VAR_DIR=/app/var
CMD ["python", "-m", "services.intake"]
