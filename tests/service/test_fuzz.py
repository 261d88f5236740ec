"""The API fuzzed with schemathesis from its own OpenAPI document: whatever a client sends,
no answer is a server error, and every answer is the status, type and shape the document
promises. Examples are derived from a fixed seed, so a failure repeats."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from service.api import create_app


def test_no_input_makes_the_api_fail_or_break_its_document(holder):
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(holder))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/check", "/v1/customers", "/health"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate()

        call()
