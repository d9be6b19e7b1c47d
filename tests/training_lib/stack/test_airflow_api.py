"""A refused trigger (a bad Param value) reads as one line, not a raw HTTP 400 body."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Iterator

import pytest

from training_lib.stack.airflow_api import AirflowApi, AirflowApiError, error_detail


def _param_error() -> str:
    """What Airflow's API puts in `detail` when a Param refuses a value (its own text)."""
    from airflow.sdk.definitions.param import Param, ParamsDict

    params = ParamsDict({"epochs": Param(5, type="integer", minimum=1)})
    try:
        params["epochs"] = "abc"  # validated on assignment, as the API's trigger does
    except ValueError as e:
        return str(e)
    raise AssertionError("Param accepted 'abc' for an integer")


@pytest.fixture
def airflow(request: pytest.FixtureRequest) -> Iterator[str]:
    status, body = request.param

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


PARAM_ERROR = _param_error()


@pytest.mark.parametrize("airflow", [(400, {"detail": PARAM_ERROR})], indirect=True)
def test_bad_param_value_is_one_readable_line(airflow: str) -> None:
    assert "\n" in PARAM_ERROR and "Failed validating" in PARAM_ERROR  # what the API sends
    api = AirflowApi(airflow, password="x")
    api._token = "t"
    with pytest.raises(AirflowApiError) as info:
        api.trigger("quick_start", {"epochs": "abc"})
    assert str(info.value) == ("Airflow refused to start quick_start: Invalid input for param "
                               "epochs: 'abc' is not of type 'integer'")
    assert info.value.status == 400


@pytest.mark.parametrize("airflow", [(404, {"detail": "The Dag with ID: `nope` was not found"})],
                         indirect=True)
def test_other_errors_keep_method_path_and_status(airflow: str) -> None:
    api = AirflowApi(airflow, password="x")
    api._token = "t"
    with pytest.raises(AirflowApiError, match=r"^POST /api/v2/dags/nope/dagRuns: HTTP 404: "
                                              r"The Dag with ID: `nope` was not found$"):
        api.trigger("nope", {})


def test_error_detail_shapes() -> None:
    assert error_detail(b'{"detail": [{"loc": ["body", "conf"], "msg": "Input should be a '
                        b'valid dictionary"}]}') == "body.conf: Input should be a valid dictionary"
    assert error_detail(b"<html>Bad Gateway</html>") == "<html>Bad Gateway</html>"
    assert error_detail(b"") == "(no detail)"
