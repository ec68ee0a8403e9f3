# One image for every Linli service; the command picks the target (`linli run tickets`, or all).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LINLI_HTTP_HOST=0.0.0.0 LINLI_VAR_DIR=/var/lib/linli
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY shared ./shared
COPY services ./services
COPY host ./host
COPY ops ./ops
RUN pip install --no-cache-dir --no-deps -e . && useradd --system --home /var/lib/linli linli \
    && mkdir -p /var/lib/linli && chown linli /var/lib/linli
USER linli
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/readyz')" || exit 1
CMD ["linli", "run"]
