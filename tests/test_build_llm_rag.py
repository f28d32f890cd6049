"""Build layer, what only the llm-rag variant does: retrieval measured on the sample's
evaluation set, answers from a configured OpenAI-compatible LLM (a fake one on loopback)
and the offline answerer standing in when it fails, a document uploaded into the index and
answered from, and drift found in a batch of off-topic questions.

Shares its project and server with `test_build.py` through the session's build cache.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.building import BuiltProject
from harness.fake_llm import FakeLLM
from harness.probes import Upload, multipart
from harness.service import RunningServer, request, wait_for
from harness.variants import LLM_RAG
from tests.conftest import BuildProject
from tests.test_build import metadata_of

pytestmark = pytest.mark.build

QUESTION = "Who must approve an expense claim before it is paid?"
SECRET = "sk-build-test-not-a-real-key"  # noqa: S105 (a fake key, checked never to leak)


@pytest.fixture(scope="module", params=[build.name for build in LLM_RAG.builds])
def project(request: pytest.FixtureRequest, build_project: BuildProject) -> BuiltProject:
    return build_project(request.param)


def served(project: BuiltProject, log_dir: Path, **variables: str) -> RunningServer:
    server = project.serve(log_dir, **variables)
    try:
        wait_for(server.url("/ready"), alive=server.alive)
    except (TimeoutError, RuntimeError) as error:
        server.stop()
        pytest.fail(f"{error}\nserver log:\n{server.log()[-4000:]}", pytrace=False)
    return server


def test_retrieval_meets_its_floor_on_the_sample(project: BuiltProject) -> None:
    """The issue's floor: hybrid hit@5 >= 0.9 on the sample's evaluation set, beside BM25."""
    project.require("setup", "all")
    report = json.loads((project.path / "reports" / "metrics.json").read_text("utf-8"))
    hybrid, bm25 = report["retrieval"]["hybrid"], report["retrieval"]["bm25"]
    assert hybrid["hit@5"] >= 0.9, report["retrieval"]
    assert hybrid["mrr"] >= bm25["mrr"], report["retrieval"]
    assert report["questions"]["unanswerable"] >= 10, report["questions"]
    assert report["abstention"]["caught"] >= 1, report["abstention"]
    metadata = metadata_of(project)
    assert metadata["embedding"]["parity_max_abs_diff"] <= 1e-4, metadata["embedding"]


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


@pytest.fixture(scope="module")
def llm_server(
    project: BuiltProject, fake_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    project.require("setup", "all")
    server = served(
        project,
        tmp_path_factory.mktemp("llm-server"),
        LLM_BASE_URL=fake_llm.url,
        LLM_API_KEY=SECRET,
        LLM_MODEL="fake-model",
        LLM__TIMEOUT_S="2",
        LLM__MAX_RETRIES="0",
    )
    yield server
    server.stop()


def test_the_answer_comes_from_the_configured_llm(
    llm_server: RunningServer, fake_llm: FakeLLM
) -> None:
    fake_llm.status = 200
    fake_llm.reply = "Your line manager approves every claim before it is paid [1]."
    answer = request(llm_server.url("/ask"), {"question": QUESTION})
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["answer"] == fake_llm.reply, body
    assert body["generator"] == "llm:fake-model", body
    assert [citation["n"] for citation in body["citations"]] == [1], body
    assert body["citations"][0]["source"] == body["closest"][0]["source"], body
    sent = json.dumps(fake_llm.requests[-1])
    assert QUESTION in sent, "the question did not reach the LLM"
    assert body["closest"][0]["chunk_id"] not in sent or "DOCUMENT" in sent


def test_a_failing_llm_leaves_the_offline_answer(
    llm_server: RunningServer, fake_llm: FakeLLM
) -> None:
    fake_llm.status = 500
    answer = request(llm_server.url("/ask"), {"question": QUESTION})
    fake_llm.status = 200
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["generator"] == "extractive", body
    assert body["fallback"], body
    assert "500" in body["fallback"], body
    assert SECRET not in answer.text
    assert body["citations"], body


def test_the_stream_sends_sources_tokens_and_the_whole_answer(
    llm_server: RunningServer, fake_llm: FakeLLM
) -> None:
    fake_llm.status = 200
    fake_llm.reply = "Your line manager approves it [1]."
    answer = request(llm_server.url("/ask/stream"), {"question": QUESTION})
    assert answer.status == 200, answer.text
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("data: ", 1)[1]))
        for block in answer.text.strip().split("\n\n")
    ]
    names = [name for name, _ in events]
    assert names[0] == "sources", names
    assert names[-1] == "done", names
    assert "token" in names, names
    tokens = "".join(data["text"] for name, data in events if name == "token")
    assert tokens.strip() == fake_llm.reply
    assert events[-1][1]["answer"] == fake_llm.reply


def test_an_uploaded_document_is_answered_from(project: BuiltProject, tmp_path: Path) -> None:
    """POST /documents on a copy of the index: 201, a new index version, and a fact only the
    new document holds is answered with a citation of it."""
    project.require("setup", "all")
    models = tmp_path / "models"
    shutil.copytree(project.path / "models", models, symlinks=True)
    server = served(
        project,
        tmp_path,
        PATHS__MODELS_DIR=str(models),
        SERVING__UPLOADS_DIR=str(tmp_path / "uploads"),
        STORE__PATH=str(tmp_path / "qdrant"),
        SERVING__RELOAD_INTERVAL_S="0.2",
    )
    try:
        policy = (
            "# Bicycle storage\n\nBicycles go in the Leeds basement cage; its door code is 4471.\n"
        )
        body, content_type = multipart((Upload("file", "bikes.md", "text/markdown", text=policy),))
        added = request(server.url("/documents"), body=body, content_type=content_type)
        assert added.status == 201, added.text
        assert added.json()["source"] == "uploads/bikes.md", added.text
        version = added.json()["model_version"]
        deadline = time.monotonic() + 30
        while request(server.url("/ready")).json().get("model_version") != version:
            assert time.monotonic() < deadline, "the new index version was not taken"
            time.sleep(0.2)
        answer = request(
            server.url("/ask"), {"question": "What is the door code of the bicycle cage?"}
        )
        assert answer.status == 200, answer.text
        cited = [citation["source"] for citation in answer.json()["citations"]]
        assert "uploads/bikes.md" in cited, answer.text
        assert "4471" in answer.json()["answer"], answer.text
    finally:
        server.stop()
    assert not (project.path / "data" / "uploads").exists(), "the upload left the copy"


def test_off_topic_questions_are_drift(project: BuiltProject, tmp_path: Path) -> None:
    project.require("setup", "all")
    topics = ["football", "cooking pasta", "the weather in Paris", "car engines", "chess"]
    batch = tmp_path / "questions.txt"
    batch.write_text(
        "\n".join(
            f"What is the best way to learn about {topic}, part {n}?"
            for n in range(8)
            for topic in topics
        ),
        encoding="utf-8",
    )
    result = project.make("drift", f"BATCH={batch}")
    assert not result.ok, "40 off-topic questions must be drift"
    report = (project.path / "reports" / "drift.md").read_text("utf-8")
    assert "Drift detected" in report, report
    assert "best similarity" in report, report
    project.make("drift")  # the shipped batch again, so the report the project keeps is its own
