"""Schemathesis over every operation of every service, as a hostile or careless client would call them.

A real ``linli run`` (all services, demo data) answers requests generated from its own OpenAPI
document, with a token holding every role so that each operation is reached past its role check.
Whatever is sent, the answer is never a 5xx, and every error is RFC 9457 problem+json. The suite
runs a few examples per operation (``LINLI_FUZZ_EXAMPLES``, 3 by default, which keeps the suite within its budget);
``make fuzz`` runs many more.
"""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from host.docs import openapi_document

EXAMPLES = int(os.environ.get("LINLI_FUZZ_EXAMPLES", "3"))
SKIPPED = r"^/(console|api/notify/inbox/stream)"  # HTML pages and the endless SSE stream (tested apart)


schema = schemathesis.openapi.from_dict(openapi_document()).exclude(path_regex=SKIPPED)
"""The document ``linli run`` serves, built here so that each operation is a test of its own (``-k tickets``)."""
schema.config.generation.update(modes=list(GenerationMode))  # valid requests and invalid ones


@schema.parametrize()
@settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_no_5xx_and_errors_are_problems(case, linli_all, all_roles):
    response = case.call(base_url=linli_all.url, headers=all_roles, timeout=10)
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}"
    if response.status_code >= 400:
        ctype = response.headers.get("content-type") or [""]  # schemathesis keeps each header as a list
        assert (ctype[0] if isinstance(ctype, list) else ctype).startswith("application/problem+json"), where
        problem = response.json()
        assert problem["status"] == response.status_code and problem["code"], where
